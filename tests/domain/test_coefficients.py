import psycopg
import pytest
from psycopg import RawCursor

from tests.fix_domain import ScopedDb, World
from yeko_sql.ids import new_id

KEY = "coefficient_templates_template_grade_series_subject_key"


def explain(db: ScopedDb, pg: psycopg.Connection, name: str, **params: object) -> str:
    query = db.queries[name]
    pg.execute("SET enable_seqscan = off")  # the world's table is tiny
    rows = (
        RawCursor(pg)
        .execute(f"EXPLAIN {query.compiled}", [params[p] for p in query.params])
        .fetchall()
    )
    return "\n".join(row[0] for row in rows)


def series_weights(db: ScopedDb, world: World) -> int:
    """Give Tle C its own weights for maths and physics; return rows written."""
    written: int = db.coefficients.upsert_coefficients(
        school_year_template_id=world.template_id,
        id=[new_id(), new_id()],
        grade_id=[world.grade_ids["TLE"]] * 2,
        series_id=[world.series_ids["C"]] * 2,
        subject_id=[world.subject_ids["MATH"], world.subject_ids["PC"]],
        weight=[5, 5],
    )
    return written


def test_find_coefficient_matches_a_null_series_and_a_given_one(
    db: ScopedDb, world: World
) -> None:
    key = {
        "school_year_template_id": world.template_id,
        "grade_id": world.grade_ids["TLE"],
        "subject_id": world.subject_ids["MATH"],
    }
    no_series = db.coefficients.find_coefficient(series_id=None, **key)
    assert no_series is not None
    assert (no_series.series_id, no_series.weight) == (None, 7)
    assert (
        db.coefficients.find_coefficient(series_id=world.series_ids["C"], **key) is None
    )
    series_weights(db, world)
    series_c = db.coefficients.find_coefficient(series_id=world.series_ids["C"], **key)
    assert series_c is not None
    assert (series_c.series_id, series_c.weight) == (world.series_ids["C"], 5)
    unknown = {**key, "school_year_template_id": world.next_template_id}
    assert db.coefficients.find_coefficient(series_id=None, **unknown) is None


def test_find_coefficient_is_an_index_scan_of_the_unique_key(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    plan = explain(
        db,
        pg,
        "find_coefficient",
        school_year_template_id=world.template_id,
        grade_id=world.grade_ids["TLE"],
        series_id=None,
        subject_id=world.subject_ids["MATH"],
    )
    assert KEY in plan
    assert "Seq Scan" not in plan
    assert "subject_id" in plan.split("Index Cond:")[1]


def test_lookup_coefficients_preloads_a_grade_and_series_into_a_dict(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    key = {
        "school_year_template_id": world.template_id,
        "grade_id": world.grade_ids["TLE"],
    }
    weights = {
        c.subject_id: c.weight
        for c in db.coefficients.lookup_coefficients(series_id=None, **key)
    }
    assert len(weights) == 7
    assert weights[world.subject_ids["MATH"]] == 7
    assert weights[world.subject_ids["FR"]] == 2
    series_weights(db, world)
    series_c = db.coefficients.lookup_coefficients(
        series_id=world.series_ids["C"], **key
    )
    assert {c.subject_id: c.weight for c in series_c} == {
        world.subject_ids["MATH"]: 5,
        world.subject_ids["PC"]: 5,
    }
    plan = explain(db, pg, "lookup_coefficients", series_id=None, **key)
    assert KEY in plan
    assert "Seq Scan" not in plan


def test_list_coefficients_orders_by_grade_series_and_subject(
    db: ScopedDb, world: World
) -> None:
    series_weights(db, world)
    grid = db.coefficients.list_coefficients(school_year_template_id=world.template_id)
    assert len(grid) == 51
    assert (grid[0].grade_name, grid[0].subject_name) == ("6e", "Anglais")
    last = [(c.grade_name, c.series_code, c.subject_name) for c in grid[-9:]]
    assert last[:7] == [
        ("Tle", None, name)
        for name in sorted(
            [
                "Mathematiques",
                "Francais",
                "Physique-Chimie",
                "SVT",
                "Histoire-Geographie",
                "Anglais",
                "EPS",
            ]
        )
    ]
    assert last[7:] == [("Tle", "C", "Mathematiques"), ("Tle", "C", "Physique-Chimie")]


def test_copy_coefficients_copies_a_whole_year_once(db: ScopedDb, world: World) -> None:
    series_weights(db, world)
    copy = {
        "source_template_id": world.template_id,
        "target_template_id": world.next_template_id,
    }
    assert db.coefficients.copy_coefficients(**copy) == 51
    assert db.coefficients.copy_coefficients(**copy) == 0
    source = db.coefficients.list_coefficients(
        school_year_template_id=world.template_id
    )
    target = db.coefficients.list_coefficients(
        school_year_template_id=world.next_template_id
    )
    strip = [(c.grade_id, c.series_id, c.subject_id, c.weight) for c in source]
    assert [(c.grade_id, c.series_id, c.subject_id, c.weight) for c in target] == strip
    assert all(len(c.id) == 21 for c in target)
    assert not {c.id for c in source} & {c.id for c in target}


def test_copy_coefficients_keeps_what_the_target_already_has(
    db: ScopedDb, world: World
) -> None:
    db.coefficients.upsert_coefficients(
        school_year_template_id=world.next_template_id,
        id=[new_id()],
        grade_id=[world.grade_ids["6EME"]],
        series_id=[None],
        subject_id=[world.subject_ids["MATH"]],
        weight=[4],
    )
    assert (
        db.coefficients.copy_coefficients(
            source_template_id=world.template_id,
            target_template_id=world.next_template_id,
        )
        == 48
    )
    kept = db.coefficients.find_coefficient(
        school_year_template_id=world.next_template_id,
        grade_id=world.grade_ids["6EME"],
        series_id=None,
        subject_id=world.subject_ids["MATH"],
    )
    assert kept is not None
    assert kept.weight == 4


def test_upsert_coefficients_treats_a_null_series_as_one_key_and_counts_changes(
    db: ScopedDb, world: World
) -> None:
    assert series_weights(db, world) == 2
    assert series_weights(db, world) == 0
    columns = {
        "school_year_template_id": world.template_id,
        "id": [new_id(), new_id()],
        "grade_id": [world.grade_ids["6EME"]] * 2,
        "series_id": [None, None],
        "subject_id": [world.subject_ids["MATH"], world.subject_ids["FR"]],
    }
    assert db.coefficients.upsert_coefficients(weight=[1, 2], **columns) == 0
    assert db.coefficients.upsert_coefficients(weight=[3, 2], **columns) == 1
    weights = db.coefficients.lookup_coefficients(
        school_year_template_id=world.template_id,
        grade_id=world.grade_ids["6EME"],
        series_id=None,
    )
    assert len(weights) == 7
    assert {c.subject_id: c.weight for c in weights}[world.subject_ids["MATH"]] == 3


def test_delete_coefficients_removes_the_given_rows(db: ScopedDb, world: World) -> None:
    found = db.coefficients.find_coefficient(
        school_year_template_id=world.template_id,
        grade_id=world.grade_ids["6EME"],
        series_id=None,
        subject_id=world.subject_ids["EPS"],
    )
    assert found is not None
    assert db.coefficients.delete_coefficients(ids=[found.id, new_id()]) == 1
    assert db.coefficients.delete_coefficients(ids=[found.id]) == 0


@pytest.mark.parametrize("weight", [0, -1])
def test_a_weight_below_one_is_refused(db: ScopedDb, world: World, weight: int) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        db.coefficients.upsert_coefficients(
            school_year_template_id=world.template_id,
            id=[new_id()],
            grade_id=[world.grade_ids["6EME"]],
            series_id=[None],
            subject_id=[world.subject_ids["EPS"]],
            weight=[weight],
        )
