"""``yeko-sql cluster`` without a cluster: clear answers, nothing touched.

The cluster itself (create, status, failover, kill -9) is exercised in
tests/stress/test_failover.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from yeko_sql.cli.main import main
from yeko_sql.errors import DevServerError
from yeko_sql.ops.cluster import Cluster


@pytest.mark.parametrize("action", ["status", "failover"])
def test_an_absent_cluster_is_said_so(
    action: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cluster", action, "--dir", str(tmp_path / "none")]) == 3
    assert "yeko-sql cluster start" in capsys.readouterr().out


def test_stop_and_destroy_of_nothing_do_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--dir", str(tmp_path / "none")]
    assert main(["cluster", "stop", *where]) == 0
    assert main(["cluster", "destroy", *where]) == 0
    assert capsys.readouterr().out.splitlines() == ["not running", "nothing to remove"]


def test_destroy_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DevServerError, match="not a yeko-sql cluster"):
        Cluster(tmp_path).destroy()
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_start_refuses_a_folder_of_something_else(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DevServerError, match="choose another --dir"):
        Cluster(tmp_path).start()
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]
