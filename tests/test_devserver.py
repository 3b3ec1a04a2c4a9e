import os
import pwd
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

from yeko_sql import devserver
from yeko_sql.devserver import DevServer, find_bindir
from yeko_sql.errors import DevServerError
from yeko_sql.serverurl import APP_ROLE, OWNER, role_url


@pytest.fixture
def server() -> Iterator[DevServer]:
    root = tempfile.mkdtemp(prefix="yeko-devserver-", dir="/dev/shm")
    server = DevServer(root, fsync=False)
    yield server
    server.destroy()


def _query(url: str, sql: str) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


def test_start_creates_a_cluster_with_monitoring_preloaded(server: DevServer) -> None:
    url = server.start()
    assert url.startswith("postgresql://postgres@127.0.0.1:")
    preload = _query(url, "SHOW shared_preload_libraries")
    assert preload == "pg_stat_statements, auto_explain"
    assert _query(url, "SHOW compute_query_id") == "on"
    assert _query(url, "SHOW auto_explain.log_min_duration") == "250ms"
    assert _query(url, "SHOW listen_addresses") == "127.0.0.1"


def test_url_is_the_owners_unless_a_role_is_named(tmp_path: Path) -> None:
    server = DevServer(tmp_path, port=5999)  # a URL needs no running server
    assert server.url() == "postgresql://postgres@127.0.0.1:5999/postgres"
    assert server.url("yeko", user="yeko_app") == (
        "postgresql://yeko_app@127.0.0.1:5999/yeko"
    )


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


def test_a_stale_pid_file_naming_another_process_is_cleared(server: DevServer) -> None:
    server.start()
    server.stop()
    pid_file = server.data_dir / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{server.data_dir}\n")  # alive, not postgres
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
        "import sys; from yeko_sql.devserver import DevServer\n"
        f"s = DevServer({str(root / 'pg')!r}, fsync=False)\n"
        "assert not s._as_service_user\n"
        "print(s.start()); s.destroy()\n"
    )
    project = Path(__file__).resolve().parents[1]
    site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    env = {"PYTHONPATH": f"{project}:{site}", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if os.geteuid() == 0:
        os.chown(root, *_postgres_ids())
        command = ["runuser", "-u", "postgres", "--", "/usr/bin/python3", "-c", script]
    else:
        command = [sys.executable, "-c", script]
    try:
        result = subprocess.run(
            command,
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
    assert result.stdout.startswith("postgresql://postgres@127.0.0.1:")


def _postgres_ids() -> tuple[int, int]:
    user = pwd.getpwnam("postgres")
    return user.pw_uid, user.pw_gid
