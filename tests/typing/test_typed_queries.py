"""mypy sees every bundled query through ``yeko_sql.yeko.typed`` (reveal_type).

One mypy run (strict, the project's config, a cache in tmp) checks a few
snippet files; each test reads the lines mypy reported for its file.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]
PRELUDE = """
from yeko_sql.yeko.typed import AsyncYekoDatabase, YekoDatabase

db = YekoDatabase("postgresql://")
"""
SNIPPETS = {
    "reveals": """
        reveal_type(db.schools.get_school(school_id="s"))
        reveal_type(db.schools.find_school_by_code(code="c"))
        reveal_type(db.catalog.list_tracks())
        reveal_type(db.schools.list_schools(status="active", search=None, page=2))
        reveal_type(
            db.enrollments.list_pending_enrollments(
                school_id="s", after_enrolled_at=None, after_id=None, limit=50
            )
        )
        reveal_type(db.enrollments.count_class_enrollments(class_id="c", school_id="s"))
        reveal_type(db.samples.sample_school_id())
        reveal_type(db.schools.archive_school(school_id="s"))
        reveal_type(db.schools.create_school(
            id="s", name="n", code="c", status="active", city=None, address=None,
            phone=None, email=None, settings={"locale": "fr"},
        ))
        with db.transaction() as tx:
            reveal_type(tx)
            reveal_type(tx.students.list_students(
                school_id="s", status=None, search=None, sort="newest"
            ))
        with db.for_school("s") as scoped, scoped.transaction() as savepoint:
            reveal_type(savepoint)
        reveal_type(db.open())


        async def main() -> None:
            async with AsyncYekoDatabase() as adb, adb.transaction() as atx:
                reveal_type(adb)
                reveal_type(await adb.schools.get_school(school_id="s"))
                reveal_type(await atx.payments.count_school_payments(
                    school_id="s", paid_from=None, paid_to=None
                ))
    """,
    "wrong_parameter_name": """
        db.schools.get_school(id="s")
    """,
    "wrong_parameter_type": """
        db.students.get_student(id="s", school_id=42)
    """,
    "optional_result_used_as_a_row": """
        print(db.schools.find_school_by_code(code="c").name)
    """,
    "result_misused": """
        total: int = db.schools.get_school(school_id="s").name + 1
    """,
    "unknown_sort": """
        db.students.list_students(school_id="s", status=None, search=None, sort="age")
    """,
    "limit_on_a_page_query": """
        db.schools.list_schools(status="active", search=None, limit=10, offset=0)
    """,
    "unknown_query": """
        db.schools.get_schools(school_id="s")
    """,
}
REVEALED = [
    "yeko_sql.yeko.domain.schools.School",
    "yeko_sql.yeko.domain.schools.School | None",
    "list[yeko_sql.yeko.domain.catalog.Track]",
    "yeko_sql.runtime.pagination.Page[yeko_sql.yeko.domain.schools.SchoolSummary]",
    "yeko_sql.runtime.pagination.KeysetPage[yeko_sql.yeko.domain.enrollments.EnrollmentListing]",
    "int",
    "str | None",
    "int",
    "yeko_sql.yeko.domain.schools.School",
    "yeko_sql.yeko.typed.YekoTransaction",
    "yeko_sql.runtime.pagination.Page[yeko_sql.yeko.domain.students.StudentSummary]",
    "yeko_sql.yeko.typed.YekoTransaction",
    "yeko_sql.yeko.typed.YekoDatabase",
    "yeko_sql.yeko.typed.AsyncYekoDatabase",
    "yeko_sql.yeko.domain.schools.School",
    "int",
]
_LINE = re.compile(r"^(?P<file>[^:]+)\.py:\d+: (?P<level>error|note): (?P<text>.*)$")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Run mypy once over every snippet; each file's reported lines."""
    folder = tmp_path_factory.mktemp("typing")
    files = []
    for name, body in SNIPPETS.items():
        path = folder / f"{name}.py"
        code = textwrap.dedent(PRELUDE) + textwrap.dedent(body)
        path.write_text(code.removeprefix("\n"), encoding="utf-8")
        files.append(str(path))
    stdout, stderr, _ = api.run(
        [
            *files,
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(folder / ".mypy_cache"),
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
        ]
    )
    assert not stderr, stderr
    found: dict[str, list[str]] = {name: [] for name in SNIPPETS}
    for line in stdout.splitlines():
        match = _LINE.match(line)
        if match:
            name = Path(match["file"]).name
            found[name].append(f"{match['level']}: {match['text']}")
    return found


def test_reveal_type_shows_each_query_s_return_type(
    reports: dict[str, list[str]],
) -> None:
    revealed = [
        line.removeprefix('note: Revealed type is "').removesuffix('"')
        for line in reports["reveals"]
        if line.startswith("note: Revealed type is")
    ]
    assert revealed == REVEALED
    assert [line for line in reports["reveals"] if line.startswith("error")] == []


@pytest.mark.parametrize(
    ("snippet", "code"),
    [
        ("wrong_parameter_name", "[call-arg]"),
        ("wrong_parameter_type", "[arg-type]"),
        ("optional_result_used_as_a_row", "[union-attr]"),
        ("result_misused", "[operator]"),
        ("unknown_sort", "[arg-type]"),
        ("limit_on_a_page_query", "[call-arg]"),
        ("unknown_query", "[attr-defined]"),
    ],
)
def test_mypy_rejects_a_wrong_call_or_a_misused_result(
    reports: dict[str, list[str]], snippet: str, code: str
) -> None:
    errors = [line for line in reports[snippet] if line.startswith("error")]
    assert errors, f"mypy accepted {snippet}"
    assert all(line.endswith(code) for line in errors), errors
