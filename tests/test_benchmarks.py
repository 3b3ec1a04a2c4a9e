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
