"""The benchmark harness runs (tiny): speed targets live in `make bench`, not here."""

import pytest

from benchmarks import engine


def test_the_engine_benchmark_runs_and_reports_ratios(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--url", database_url, "--rows", "300", "--lookups", "20", "--rounds", "1"]
    assert engine.main([*argv, "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "| tuples (floor) |" in out
    assert "| yeko-sql :opt through the pool |" in out
    assert out.count("1.000×") == 2
