"""yeko-sql studio through its HTTP interface: safety, catalog, runs, plans, snippets.

The pages run against this test's migrated database (Yeko's schema, seeded
tiny) with Starlette's test client; tests/test_studio_browser.py drives the
same app in headless Chromium.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.fix_studio import seeded_copy
from yeko_sql.studio.app import StudioConfig, create_app
from yeko_sql.studio.catalog import highlight, load_catalog
from yeko_sql.studio.run import WritePolicy, parse_value
from yeko_sql.studio.snippets import Snippet, SnippetError, SnippetStore
from yeko_sql.yeko.resources import sql_dir as yeko_sql_dir

HOSTS = ("127.0.0.1", "localhost", "testserver")


@pytest.fixture(scope="module")
def queries_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Yeko's query files (and stored plan shapes), copied so tests may edit them."""
    target = tmp_path_factory.mktemp("studio") / "sql"
    shutil.copytree(yeko_sql_dir(), target)
    return target


@pytest.fixture(scope="module")
def seeded(yeko_server: Any, yeko_template: str) -> Iterator[str]:
    """One migrated, seeded database for the module (its name says 'test')."""
    with seeded_copy(yeko_server, yeko_template, "studio_test") as url:
        yield url


def make_config(
    url: str, paths: list[Path], tmp_path: Path, **kw: object
) -> StudioConfig:
    return StudioConfig(
        url=url,
        paths=paths,
        models=["yeko_sql.yeko.domain"],
        app_role="yeko_app",
        tenant_column="school_id",
        snippets_dir=tmp_path / "snippets",
        snapshots_file=tmp_path / "health.jsonl",
        snapshot_every=0,
        watch=False,
        hosts=HOSTS,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def studio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's studio keeps snippets and snapshots."""
    return tmp_path_factory.mktemp("studio-files")


@pytest.fixture(scope="module")
def client(seeded: str, queries_copy: Path, studio_dir: Path) -> Iterator[TestClient]:
    config = make_config(seeded, [queries_copy], studio_dir)
    with TestClient(create_app(config)) as test_client:
        test_client.get(f"/?token={config.token}")
        test_client.config = config  # type: ignore[attr-defined]
        yield test_client


def school_of(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM schools ORDER BY code LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


def csrf(client: TestClient) -> str:
    return client.config.csrf  # type: ignore[attr-defined,no-any-return]


# -- safety ------------------------------------------------------------------


def test_without_the_token_every_page_is_refused(
    seeded: str, queries_copy: Path, tmp_path: Path
) -> None:
    config = make_config(seeded, [queries_copy], tmp_path)
    with TestClient(create_app(config)) as anonymous:
        assert anonymous.get("/").status_code == 403
        assert anonymous.get("/?token=wrong").status_code == 403
        answer = anonymous.get(f"/?token={config.token}", follow_redirects=False)
        assert answer.status_code == 303
        assert "samesite=strict" in answer.headers["set-cookie"].lower()
        assert "httponly" in answer.headers["set-cookie"].lower()
        assert anonymous.get("/").status_code == 200  # the cookie now


def test_another_host_name_is_refused(client: TestClient) -> None:
    answer = client.get("/", headers={"host": "attacker.example:80"})
    assert answer.status_code == 403


def test_a_post_without_the_csrf_token_or_from_elsewhere_is_refused(
    client: TestClient, seeded: str
) -> None:
    form = {"p:school_id": school_of(seeded)}
    assert (
        client.post("/query/students.list_students/run", data=form).status_code == 403
    )
    answer = client.post(
        "/query/students.list_students/run",
        data={**form, "csrf": csrf(client)},
        headers={"origin": "http://attacker.example"},
    )
    assert answer.status_code == 403


def test_the_sql_console_is_off_unless_asked(client: TestClient) -> None:
    assert client.get("/console").status_code == 404
    assert "SQL console" not in client.get("/").text


# -- catalog -----------------------------------------------------------------


def test_the_catalog_lists_every_query_by_namespace_and_searches(
    client: TestClient,
) -> None:
    page = client.get("/").text
    assert "191 queries" in page or re.search(r"\d+ queries in \d+ namespaces", page)
    assert 'href="/query/students.list_students"' in page
    assert "budget 10ms" in page
    found = client.get("/", params={"q": "debtors"}).text
    assert "analytics.list_top_debtors" in found
    assert "students.list_students" not in found


def test_a_query_page_shows_doc_types_headers_and_highlighted_sql(
    client: TestClient,
) -> None:
    page = client.get("/query/students.list_students").text
    assert "sql/students.sql:" in page or "students.sql:" in page
    assert "<code>text</code>" in page  # school_id's type, from describe
    assert "status?" in page  # an optional parameter
    assert 'name="page_size"' in page  # a :page query takes page and page_size
    assert 'name="p:limit"' not in page
    assert '<span class="k">SELECT</span>' in page
    assert '<span class="p">school_id</span>' in page
    assert "runs as" in page
    assert "yeko_app" in page


def test_a_file_that_fails_to_load_shows_its_error_and_the_rest_loads(
    sql_dir: object, tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "good.sql").write_text("-- name: one_thing :scalar\nSELECT 1 AS n;\n")
    (folder / "bad.sql").write_text(
        "-- name: broken :many\n-- Returns: Student\nSELECT 1 AS n;\n"
    )
    catalog = load_catalog([folder], [], database_url)
    assert [q.qualname for q in catalog.queries()] == ["good.one_thing"]
    [error] = catalog.errors
    assert error.path.endswith("bad.sql")
    assert error.line == 2
    config = make_config(database_url, [folder], tmp_path)
    with TestClient(create_app(config)) as client:
        client.get(f"/?token={config.token}")
        page = client.get("/").text
    assert "load error:" in page
    assert "bad.sql:2" in page
    assert "good.one_thing" in page


def test_an_edit_reloads_the_catalog(client: TestClient, queries_copy: Path) -> None:
    studio = client.app.state.studio  # type: ignore[attr-defined]
    extra = queries_copy / "zz_extra.sql"
    extra.write_text("-- name: added_later :scalar\nSELECT 2 AS n;\n")
    try:
        studio.catalog.reload()
        assert client.get("/api/generation").json()["generation"] == 1
        assert "zz_extra.added_later" in client.get("/").text
    finally:
        extra.unlink()


def test_highlight_marks_tokens_and_escapes_html() -> None:
    shown = highlight("SELECT '<b>' AS x, 1 -- note\nFROM t WHERE id = :id")
    assert '<span class="k">SELECT</span>' in shown
    assert '<span class="s">&#x27;&lt;b&gt;&#x27;</span>' in shown
    assert '<span class="c">-- note</span>' in shown
    assert '<span class="p">id</span>' in shown
    assert "<b>" not in shown


# -- runs --------------------------------------------------------------------


def test_a_page_query_runs_as_the_app_role_for_one_school(
    client: TestClient, seeded: str
) -> None:
    school = school_of(seeded)
    answer = client.post(
        "/query/students.list_students/run",
        data={
            "csrf": csrf(client),
            "p:school_id": school,
            "page": "2",
            "page_size": "3",
        },
    )
    page = answer.text
    assert answer.status_code == 200
    assert "3 row(s)" in page
    assert "(page 2 of" in page
    assert "text · not null" in page  # each column's type and nullability
    assert "date · nullable" in page  # birth_date
    assert 'title="students.birth_date allows NULL"' in page  # and why


def test_nulls_show_distinctly_and_exports_download(
    client: TestClient, seeded: str
) -> None:
    school = school_of(seeded)
    with psycopg.connect(seeded) as conn:
        conn.execute(
            "UPDATE students SET birth_date = NULL WHERE school_id = %s", [school]
        )
    form = {"csrf": csrf(client), "p:school_id": school, "page_size": "2"}
    page = client.post("/query/students.list_students/run", data=form).text
    assert '<span class="null">NULL</span>' in page
    as_csv = client.post(
        "/query/students.list_students/run", data={**form, "format": "csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0] == "id,matricule,full_name,gender,birth_date,status"
    assert len(lines) == 3
    as_json = client.post(
        "/query/students.list_students/run", data={**form, "format": "json"}
    ).json()
    assert len(as_json) == 2
    assert as_json[0]["birth_date"] is None


def test_a_bad_value_names_its_parameter(client: TestClient) -> None:
    page = client.post(
        "/query/analytics.list_top_debtors/run",
        data={
            "csrf": csrf(client),
            "p:school_id": "x",
            "p:school_year_id": "y",
            "p:top": "many",
        },
    ).text
    assert "top:" in page
    assert "is not a int" in page


def test_a_write_is_rolled_back_unless_committed(
    client: TestClient, seeded: str
) -> None:
    school = school_of(seeded)
    with psycopg.connect(seeded) as conn:
        row = conn.execute(
            "SELECT id FROM students"
            " WHERE school_id = %s AND status = 'active' LIMIT 1",
            [school],
        ).fetchone()
    assert row is not None
    student = str(row[0])
    form = {
        "csrf": csrf(client),
        "p:school_id": school,
        "p:ids": student,
        "p:status": "withdrawn",
    }
    page = client.post("/query/students.update_student_status/run", data=form).text
    assert "rolled back" in page, page

    def status() -> str:
        with psycopg.connect(seeded) as conn:
            found = conn.execute("SELECT status FROM students WHERE id = %s", [student])
            return str(found.fetchone()[0])  # type: ignore[index]

    assert status() == "active"
    page = client.post(
        "/query/students.update_student_status/run", data={**form, "commit": "1"}
    ).text
    assert "committed" in page, page
    assert status() == "withdrawn"


def test_writes_are_refused_on_a_database_not_named_for_development() -> None:
    assert WritePolicy("yeko_dev").refusal() is None
    assert WritePolicy("app_test_3").refusal() is None
    assert WritePolicy("yeko_demo").refusal() is None
    refused = WritePolicy("yeko").refusal()
    assert refused is not None
    assert "--allow-writes" in refused
    assert WritePolicy("production", allow_writes=True).refusal() is None
    assert WritePolicy("contest").refusal() is not None  # 'test' inside a word


def test_parse_value_by_type() -> None:
    assert parse_value("42", "int") == 42
    assert parse_value("a, b", "list[str]") == ["a", "b"]
    assert parse_value('["x"]', "list[str]") == ["x"]
    assert parse_value("2026-09-01", "date").isoformat() == "2026-09-01"  # type: ignore[attr-defined]
    assert parse_value("true", "bool") is True
    with pytest.raises(ValueError, match="is not a Decimal"):
        parse_value("lots", "Decimal")


# -- plans and health --------------------------------------------------------


def test_a_plan_shows_both_plans_the_verdict_and_the_stored_shape(
    client: TestClient, seeded: str
) -> None:
    page = client.post(
        "/query/students.list_students/plan",
        data={"csrf": csrf(client), "p:school_id": school_of(seeded), "page_size": "3"},
    ).text
    assert "Plan of students.list_students[none]" in page
    assert "within the guardrails" in page or "over a guardrail" in page
    assert "generic plan (force_generic_plan)" in page
    assert "students.list_students[none].plan" in page  # compared with sql/plans/
    assert "Index Cond: (school_id = " in page  # the readable tree's conditions
    assert re.search(r"on students \(rows \d+, [\d.]+ ms", page)


def test_the_health_page_judges_the_guardrails_and_keeps_snapshots(
    client: TestClient, studio_dir: Path
) -> None:
    kept = studio_dir / "health.jsonl"
    before = len(kept.read_text().splitlines()) if kept.is_file() else 0
    first = client.get("/health").text
    second = client.get("/health").text
    assert "buffer cache hit ratio" in first
    assert "pass" in first
    assert f"{before + 2} snapshot(s)" in second
    assert "<svg" in second
    assert "<polyline" in second
    assert len(kept.read_text().splitlines()) == before + 2


# -- snippets ----------------------------------------------------------------


def test_snippets_are_files_that_prefill_the_form(
    client: TestClient, seeded: str, studio_dir: Path
) -> None:
    school = school_of(seeded)
    answer = client.post(
        "/snippets",
        data={
            "csrf": csrf(client),
            "snippet_name": "active_students",
            "query": "students.list_students",
            "p:school_id": school,
            "p:status": "active",
            "p:search": "",
            "null:search": "1",
        },
    )
    assert answer.status_code == 200
    saved = (studio_dir / "snippets" / "active_students.sql").read_text()
    assert saved.splitlines()[:3] == [
        "-- snippet: active_students",
        "-- query: students.list_students",
        f"-- param school_id: {school}",
    ]
    assert "-- param search: NULL" in saved
    assert "active_students" in client.get("/snippets").text
    form = client.get("/query/students.list_students?snippet=active_students").text
    assert f'value="{school}"' in form


def test_a_snippet_name_cannot_leave_its_folder(tmp_path: Path) -> None:
    store = SnippetStore(tmp_path)
    with pytest.raises(SnippetError):
        store.save(Snippet(name="../../etc/passwd"))
    round_trip = Snippet.parse(
        "x", Snippet(name="x", query="a.b", params={"p": None}).text()
    )
    assert round_trip.params == {"p": None}
    assert round_trip.query == "a.b"


def test_a_keyset_page_offers_the_next_page_from_its_last_row(
    client: TestClient, seeded: str
) -> None:
    school = school_of(seeded)
    with psycopg.connect(seeded) as conn:
        year = conn.execute(
            "SELECT id FROM school_years WHERE school_id = %s"
            " ORDER BY starts_on LIMIT 1",
            [school],
        ).fetchone()
    assert year is not None
    form = {
        "csrf": csrf(client),
        "p:school_id": school,
        "p:school_year_id": str(year[0]),
        "p:limit": "2",
        "null:status": "1",
        "null:after_enrolled_at": "1",
        "null:after_id": "1",
    }
    page = client.post(
        "/query/enrollments.list_school_year_enrollments/run", data=form
    ).text
    assert "2 row(s)" in page
    assert "more after the last" in page
    assert 'id="next-page"' in page
    assert "p:after_id" in page
    assert "p:after_enrolled_at" in page


def test_a_plan_follows_the_chosen_sort_variant(
    client: TestClient, seeded: str
) -> None:
    page = client.post(
        "/query/students.list_students/plan",
        data={
            "csrf": csrf(client),
            "p:school_id": school_of(seeded),
            "sort": "newest",
        },
    ).text
    assert "Plan of students.list_students[none] sort=newest" in page
    assert "No stored shape" in page  # guardrails store the default order only
