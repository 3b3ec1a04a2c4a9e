"""The benchmark harness runs (tiny): speed targets live in `make bench`, not here."""

import pytest

from benchmarks.__main__ import main


def test_the_benchmark_runs_every_workload_tiny_and_reports_ratios(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", database_url, "--tiny", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "| psycopg tuples (floor) |" in out
    assert "| yeko-sql :one through the pool |" in out
    assert "| yeko-sql copy_structs |" in out
    assert "| yeko-sql :stream → Struct |" in out
    # Every group's floor is its own unit.
    assert out.count("| 1.000× |") >= 12


def test_the_replica_workloads_run_on_a_standby_of_their_own_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--tiny", "--no-write", "--only", "replica_reports,read_your_writes"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| on the standby (read_url, '-- replica: ok') |" in out
    assert "| read on the standby, consistent_reads() (waits for replay) |" in out
    assert "missed their own write" in out
