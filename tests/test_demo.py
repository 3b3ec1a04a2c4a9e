"""The demo tour runs end to end (at the tiny size; `make demo` uses the demo size)."""

import io

from yeko_sql.demo import TOUR, run_demo


def test_the_demo_migrates_seeds_and_tours_every_area(empty_database_url: str) -> None:
    out = io.StringIO()
    assert run_demo(empty_database_url, out=out, size="tiny") == 0
    text = out.getvalue()
    for area, queries in TOUR:
        assert f"== {area} ==" in text
        for qualname in queries:
            assert f"\n{qualname}(" in text
    assert "== Pagination: OFFSET against keyset ==" in text
    assert "students.upsert_students: " in text
    assert "claimed by both: 0" in text


def test_running_the_demo_again_works_and_gives_the_same_data(
    empty_database_url: str,
) -> None:
    first, second = io.StringIO(), io.StringIO()
    run_demo(empty_database_url, out=first, size="tiny")
    run_demo(empty_database_url, out=second, size="tiny")
    assert "migrations: 0 applied now" in second.getvalue()

    def counts(text: str) -> str:
        return next(line for line in text.splitlines() if line.startswith("seeded"))

    assert (
        counts(first.getvalue()).split(":", 1)[1]
        == counts(second.getvalue()).split(":", 1)[1]
    )
