import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from yeko_sql.cli.main import main
from yeko_sql.errors import DevServerError
from yeko_sql.ops import devserver
from yeko_sql.ops.devserver import DevServer, find_bindir
from yeko_sql.ops.serverurl import OWNER, masked, role_url
from yeko_sql.yeko.roles import APP_ROLE


@pytest.fixture
def server() -> Iterator[DevServer]:
    root = tempfile.mkdtemp(prefix="yeko-devserver-", dir="/dev/shm")
    server = DevServer(root, fsync=False)
    yield server
    server.destroy()


other_server = server


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder on tmpfs that every user may enter (as a clone under /home)."""
    parent = Path(tempfile.mkdtemp(prefix="yeko-folder-", dir="/dev/shm"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def _query(url: str, sql: str) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


def test_start_creates_a_cluster_with_monitoring_preloaded(server: DevServer) -> None:
    url = server.start()
    assert url.startswith("postgresql://postgres:")
    assert f":{server.password()}@127.0.0.1:" in url
    preload = _query(url, "SHOW shared_preload_libraries")
    assert preload == "pg_stat_statements, auto_explain"
    assert _query(url, "SHOW compute_query_id") == "on"
    assert _query(url, "SHOW auto_explain.log_min_duration") == "250ms"
    assert _query(url, "SHOW listen_addresses") == "127.0.0.1"


def test_url_is_the_owners_unless_a_role_is_named(server: DevServer) -> None:
    server.start()
    port = server.port
    owner, app = server.password(), server.password(APP_ROLE)
    assert owner != app
    assert server.url() == f"postgresql://postgres:{owner}@127.0.0.1:{port}/postgres"
    assert server.url("yeko", user=APP_ROLE) == (
        f"postgresql://yeko_app:{app}@127.0.0.1:{port}/yeko"
    )


def test_a_url_needs_a_started_server(open_folder: Path) -> None:
    with pytest.raises(DevServerError, match="never started; run 'yeko-sql server"):
        DevServer(open_folder / "pg", port=5999).url()


def test_role_url_swaps_the_user_and_drops_the_owners_password() -> None:
    owner = "postgresql://postgres:secret@db.example:6432/yeko?sslmode=require"
    params = psycopg.conninfo.conninfo_to_dict(role_url(owner, APP_ROLE))
    assert params == {
        "user": "yeko_app",
        "host": "db.example",
        "port": "6432",
        "dbname": "yeko",
        "sslmode": "require",
    }
    assert role_url(owner, OWNER) == owner


def test_start_reuses_a_running_server(server: DevServer) -> None:
    first = server.start()
    pid = server.status().pid
    assert server.start() == first
    assert server.status().pid == pid


def test_stop_stops_and_status_says_so(server: DevServer) -> None:
    server.start()
    assert server.status().running
    assert server.stop() is True
    status = server.status()
    assert (status.running, status.pid, status.url) == (False, None, None)
    assert server.stop() is False


@pytest.mark.skipif(
    os.geteuid() != 0, reason="only root must switch to the service user"
)
def test_as_root_the_cluster_belongs_to_the_postgres_user(server: DevServer) -> None:
    server.start()
    owner = server.data_dir.stat().st_uid
    assert pwd.getpwuid(owner).pw_name == "postgres"
    assert _query(server.url(), "SELECT current_setting('data_directory')") == str(
        server.data_dir
    )


def test_a_crashed_server_recovers_on_next_start(server: DevServer) -> None:
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")  # the test server defaults to off
        conn.execute("CREATE TABLE survivors (id int)")
        conn.execute("INSERT INTO survivors VALUES (1)")
    pid = server.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.05)
    assert (server.data_dir / "postmaster.pid").exists()  # the crash left it
    assert server.start() == url
    assert _query(url, "SELECT count(*) FROM survivors") == 1


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the server user must be unable to signal the pid"
)
def test_a_pid_file_naming_a_process_postgres_cannot_signal_is_stale_to_it(
    server: DevServer,
) -> None:
    server.start()
    server.stop()
    pid_file = server.data_dir / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{server.data_dir}\n")  # root's: EPERM
    url = server.start()
    assert _query(url, "SELECT 1") == 1


def test_a_taken_port_is_replaced_by_a_free_one(server: DevServer) -> None:
    server.start()
    old_port = server.port
    server.stop()
    assert old_port is not None
    with socket.socket() as squatter:
        # As any server would: the port may still hold TIME_WAIT connections.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        url = server.start()
    assert server.port != old_port
    assert _query(url, "SELECT 1") == 1


def test_no_binaries_anywhere_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PG_BINDIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(devserver, "_DEBIAN_ROOT", tmp_path / "no-debian")
    with pytest.raises(DevServerError) as caught:
        find_bindir()
    assert "apt-get install postgresql" in str(caught.value)
    assert "PG_BINDIR" in str(caught.value)


def test_pg_bindir_wins_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    real = find_bindir()
    monkeypatch.setenv("PG_BINDIR", str(real))
    assert find_bindir() == real


def test_a_normal_user_runs_the_server_directly(tmp_path: Path) -> None:
    """As root, rerun the devserver as the unprivileged 'postgres' user; as any other
    user, run it as ourselves: either way no runuser is involved."""
    root = Path(tempfile.mkdtemp(prefix="yeko-nonroot-", dir="/dev/shm"))
    script = (
        "import sys; from yeko_sql.ops.devserver import DevServer\n"
        f"s = DevServer({str(root / 'pg')!r}, fsync=False)\n"
        "assert not s._as_service_user\n"
        "print(s.start()); s.destroy()\n"
    )
    try:
        code = _importable_copy(root / "code")
        env = {"PYTHONPATH": str(code), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        if os.geteuid() == 0:
            os.chown(root, *_postgres_ids())
            command = ["runuser", "-u", "postgres", "--", "/usr/bin/python3"]
        else:
            command = [sys.executable]
        result = subprocess.run(
            [*command, "-c", script],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            check=False,
            timeout=120,
        )
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("postgresql://postgres:")


def _importable_copy(folder: Path) -> Path:
    """Copies of the devserver's modules and of what they import, in *folder*.

    The 'postgres' user may not be able to read the project or its venv (a
    clone in /root), so the child imports these copies instead.
    """
    package = folder / "yeko_sql"
    (package / "ops").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "ops" / "__init__.py").write_text("")
    source = Path(devserver.__file__).parents[1]
    for name in ("ops/devserver.py", "errors.py"):
        shutil.copy(source / name, package / name)
    site = Path(psycopg.__file__).parents[1]
    for name in ("msgspec", "psycopg", "psycopg_binary", "psycopg_binary.libs"):
        if (site / name).is_dir():
            shutil.copytree(site / name, folder / name)
    if (site / "typing_extensions.py").is_file():
        shutil.copy(site / "typing_extensions.py", folder)
    for path in (folder, *folder.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _postgres_ids() -> tuple[int, int]:
    user = pwd.getpwnam("postgres")
    return user.pw_uid, user.pw_gid


# -- the devserver deletes only what it made --------------------------------


def test_start_marks_its_folder_and_destroy_removes_it(server: DevServer) -> None:
    server.start()
    assert (server.root / "devserver.marker").is_file()
    assert server.destroy() is True
    assert not server.root.exists()
    assert server.destroy() is False  # nothing left to remove


def test_destroy_refuses_a_folder_without_the_marker(open_folder: Path) -> None:
    (open_folder / "notes.txt").write_text("mine")
    with pytest.raises(DevServerError) as caught:
        DevServer(open_folder).destroy()
    said = str(caught.value)
    assert said.startswith(f"{open_folder}: not a folder the local server made")
    assert "nothing was deleted" in said
    assert (open_folder / "notes.txt").read_text() == "mine"


def test_server_destroy_leaves_an_unmarked_yeko_devserver_dir_alone(
    open_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (open_folder / "notes.txt").write_text("mine")
    monkeypatch.setenv("YEKO_DEVSERVER_DIR", str(open_folder))
    assert main(["server", "destroy"]) == 2
    assert "devserver.marker" in capsys.readouterr().err
    assert (open_folder / "notes.txt").read_text() == "mine"


def test_start_refuses_a_folder_holding_files_it_did_not_make(
    open_folder: Path,
) -> None:
    (open_folder / "notes.txt").write_text("mine")
    with pytest.raises(DevServerError, match="holds files the local server did not"):
        DevServer(open_folder, fsync=False).start()
    assert sorted(p.name for p in open_folder.iterdir()) == ["notes.txt"]


# -- it talks to its own server only, and leaves postmaster.pid to PostgreSQL


def test_start_refuses_another_server_answering_on_its_port(
    server: DevServer, other_server: DevServer
) -> None:
    server.start()
    theirs = other_server.start()
    conf = server.data_dir / "yeko.conf"
    conf.write_text(  # as if the port changed under a running server
        re.sub(
            r"^port = \d+", f"port = {other_server.port}", conf.read_text(), flags=re.M
        )
    )
    with pytest.raises(DevServerError) as caught:
        server.start()
    said = str(caught.value)
    assert f"the PostgreSQL server on 127.0.0.1:{other_server.port} is another" in said
    assert server.password() not in said
    assert other_server.password() not in said
    assert _query(theirs, "SELECT 1") == 1


def test_a_pid_file_naming_another_clusters_postmaster_is_left_to_postgres(
    server: DevServer, other_server: DevServer
) -> None:
    server.start()
    server.stop()
    theirs = other_server.start()
    their_pid = other_server.status().pid
    their_pid_file = (other_server.data_dir / "postmaster.pid").read_text()
    pid_file = server.data_dir / "postmaster.pid"
    pid_file.write_text(f"{their_pid}\n{server.data_dir}\n")  # a reused pid
    conf = server.data_dir / "yeko.conf"
    conf.write_text(
        re.sub(
            r"^port = \d+", f"port = {other_server.port}", conf.read_text(), flags=re.M
        )
    )
    with pytest.raises(DevServerError, match=f"names pid {their_pid}, which is alive"):
        server.start()
    assert pid_file.read_text().startswith(f"{their_pid}\n")
    assert (other_server.data_dir / "postmaster.pid").read_text() == their_pid_file
    assert _query(theirs, "SELECT 1") == 1


def test_a_pid_file_naming_a_live_process_is_never_deleted(server: DevServer) -> None:
    server.start()
    server.stop()
    user = {"user": "postgres"} if os.geteuid() == 0 else {}
    with subprocess.Popen(["sleep", "60"], **user) as sleeper:  # type: ignore[call-overload]
        try:
            pid_file = server.data_dir / "postmaster.pid"
            pid_file.write_text(f"{sleeper.pid}\n{server.data_dir}\n")
            with pytest.raises(DevServerError) as caught:
                server.start()
            assert f"names pid {sleeper.pid}, which is alive" in str(caught.value)
            assert "lock file" in str(caught.value)  # PostgreSQL's own refusal
            assert pid_file.read_text().startswith(f"{sleeper.pid}\n")
        finally:
            sleeper.kill()
    pid_file.unlink()  # the process is gone now: the test removes what it wrote
    assert _query(server.start(), "SELECT 1") == 1


# -- passwords ----------------------------------------------------------------


def test_every_tcp_login_needs_its_password(server: DevServer) -> None:
    url = server.start()
    params = psycopg.conninfo.conninfo_to_dict(url)
    assert params["password"] == server.password()
    assert _query(url, "SHOW password_encryption") == "scram-sha-256"
    bare = url.replace(f":{server.password()}@", "@")
    for attempt in (bare, url.replace(server.password(), "not-the-password")):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(attempt).close()
    hba = (server.data_dir / "pg_hba.conf").read_text().splitlines()
    methods = {line.split()[-1] for line in hba if line and not line.startswith("#")}
    assert methods == {"scram-sha-256", "map=yeko"}
    assert "trust" not in "\n".join(hba)
    assert server.password_file.stat().st_mode & 0o777 == 0o600


def test_an_app_role_logs_in_with_its_own_password_once_it_exists(
    server: DevServer,
) -> None:
    owner_url = server.start()
    early = server.url("postgres", user=APP_ROLE)  # before the role exists
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("CREATE ROLE yeko_app LOGIN")
    app_url = role_url(owner_url, APP_ROLE)
    password = psycopg.conninfo.conninfo_to_dict(app_url)["password"]
    assert password == server.password(APP_ROLE) != server.password()
    assert _query(app_url, "SELECT current_user") == APP_ROLE
    assert _query(early, "SELECT current_user") == APP_ROLE
    with psycopg.connect(owner_url) as conn:
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'yeko_app'"
        ).fetchone()
    assert stored is not None
    assert str(stored[0]).startswith("SCRAM-SHA-256$")
    assert password not in str(stored[0])


def test_a_password_kept_by_hand_is_the_roles_from_then_on(server: DevServer) -> None:
    owner_url = server.start()
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("CREATE ROLE yeko_app LOGIN")
    chosen = "chosen-by-hand"
    server.set_password(APP_ROLE, chosen)
    assert server.password(APP_ROLE) == chosen
    url = psycopg.conninfo.make_conninfo(owner_url, user=APP_ROLE, password=chosen)
    assert _query(url, "SELECT current_user") == APP_ROLE
    with pytest.raises(DevServerError, match="other than 'postgres'"):
        server.set_password("postgres", "x")


def test_masked_shows_a_url_without_its_password() -> None:
    url = "postgresql://postgres:s3cret@127.0.0.1:5999/yeko"
    assert "s3cret" not in masked(url)
    assert "password=***" in masked(url)
    assert masked("host=db dbname=yeko") == "host=db dbname=yeko"


# -- anywhere a newcomer clones -------------------------------------------------


@pytest.mark.skipif(
    os.geteuid() != 0, reason="only root hands the server to the postgres user"
)
def test_a_clone_the_postgres_user_cannot_enter_gets_its_server_elsewhere(
    open_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clone = open_folder / "clone"
    clone.mkdir()
    clone.chmod(0o700)  # as /root is
    fallback = open_folder / "fallback"
    monkeypatch.setattr(devserver, "_FALLBACK_BASE", fallback, raising=False)
    monkeypatch.delenv("YEKO_DEVSERVER_DIR", raising=False)
    monkeypatch.chdir(clone)
    server = DevServer(fsync=False)
    assert server.asked_root == clone / ".yeko" / "pg"
    assert server.root.parent == fallback
    notice = capsys.readouterr().err
    assert f"lives in {server.root}" in notice
    assert f"cannot enter {clone}" in notice
    try:
        url = server.start()
        assert _query(url, "SHOW data_directory") == str(server.root / "data")
        again = DevServer(fsync=False)  # the next command finds the same place
        assert again.root == server.root
        assert again.status().running
        assert again.url() == url
        assert again.stop() is True
        assert not server.status().running
    finally:
        assert DevServer().destroy() is True
    assert not server.root.exists()
    assert list(clone.iterdir()) == []  # nothing was made in the clone
