from datetime import date

import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.ids import new_id
from yeko_sql.yeko.domain.school_years import SchoolYear, TermInsert


def next_year(db: ScopedDb, world: World) -> SchoolYear:
    year: SchoolYear = db.school_years.create_school_year(
        id=new_id(),
        school_id=world.first.school_id,
        school_year_template_id=world.next_template_id,
    )
    return year


def switch(db: ScopedDb, school_id: str, year_id: str) -> SchoolYear:
    with db.for_school(school_id) as tx:
        tx.school_years.close_active_school_year(school_id=school_id)
        year: SchoolYear = tx.school_years.activate_school_year(
            id=year_id, school_id=school_id
        )
    return year


def active_years(pg: psycopg.Connection) -> dict[str, int]:
    rows = pg.execute(
        "SELECT school_id, count(*) FILTER (WHERE status = 'active') "
        "FROM school_years GROUP BY school_id"
    ).fetchall()
    return dict(rows)


def test_templates_are_listed_newest_first_and_found_by_name(
    db: ScopedDb, world: World
) -> None:
    templates = db.school_years.list_school_year_templates()
    assert [t.id for t in templates] == [world.next_template_id, world.template_id]
    found = db.school_years.find_school_year_template_by_name(name="2025-2026")
    assert found is not None
    assert found.is_active
    assert db.school_years.find_school_year_template_by_name(name="1999") is None


def test_create_school_year_copies_the_template_as_a_draft(
    db: ScopedDb, world: World
) -> None:
    year = next_year(db, world)
    assert (year.name, year.starts_on, year.ends_on, year.status) == (
        "2026-2027",
        date(2026, 9, 1),
        date(2027, 7, 15),
        "draft",
    )
    assert year.school_id == world.first.school_id
    count = db.school_years.count_template_school_years
    assert count(school_year_template_id=world.next_template_id) == 1
    assert count(school_year_template_id=world.template_id) == 2


def test_create_school_year_refuses_an_unknown_template_and_a_second_copy(
    db: ScopedDb, world: World
) -> None:
    with pytest.raises(NoRowError):
        db.school_years.create_school_year(
            id=new_id(),
            school_id=world.first.school_id,
            school_year_template_id=new_id(),
        )
    next_year(db, world)
    with pytest.raises(psycopg.errors.UniqueViolation):
        next_year(db, world)


def test_get_school_year_does_not_leak_another_schools_year(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    year = db.school_years.get_school_year(
        id=first.school_year_id, school_id=first.school_id
    )
    assert year.status == "active"
    with pytest.raises(NoRowError):
        db.school_years.get_school_year(
            id=first.school_year_id, school_id=second.school_id
        )


def test_list_school_years_gives_a_schools_years_newest_first(
    db: ScopedDb, world: World
) -> None:
    year = next_year(db, world)
    listed = db.school_years.list_school_years(school_id=world.first.school_id)
    assert [y.id for y in listed] == [year.id, world.first.school_year_id]
    assert db.school_years.list_school_years(school_id=new_id()) == []


def test_switching_years_in_a_transaction_leaves_one_active_year_per_school(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school_id = world.first.school_id
    year = next_year(db, world)
    activated = switch(db, school_id, year.id)
    assert activated.status == "active"
    assert db.school_years.get_active_school_year(school_id=school_id) == activated
    old = db.school_years.get_school_year(
        id=world.first.school_year_id, school_id=school_id
    )
    assert old.status == "closed"
    # and back again: the old year comes first on disk this time
    switch(db, school_id, world.first.school_year_id)
    assert active_years(pg) == {s.school_id: 1 for s in world.schools}


def test_activating_a_second_year_alone_is_refused_by_the_unique_index(
    db: ScopedDb, world: World
) -> None:
    year = next_year(db, world)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.school_years.activate_school_year(
            id=year.id, school_id=world.first.school_id
        )


def test_activating_an_unknown_or_foreign_year_rolls_the_switch_back(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    first, second = world.schools
    with pytest.raises(NoRowError), db.for_school(first.school_id) as tx:
        tx.school_years.close_active_school_year(school_id=first.school_id)
        tx.school_years.activate_school_year(
            id=second.school_year_id, school_id=first.school_id
        )
    active = db.school_years.get_active_school_year(school_id=first.school_id)
    assert active is not None
    assert active.id == first.school_year_id
    assert active_years(pg) == {first.school_id: 1, second.school_id: 1}


@pytest.mark.parametrize("new_year_first_on_disk", [False, True])
def test_a_single_case_update_cannot_switch_years_when_it_meets_the_new_one_first(
    world: World, pg: psycopg.Connection, new_year_first_on_disk: bool
) -> None:
    """Why switching takes two statements: the partial unique index is not
    deferrable, so one UPDATE fails or not depending on the physical row order."""
    school_id, old_id = world.first.school_id, world.first.school_year_id
    new = new_id()
    pg.execute(
        "INSERT INTO school_years (id, school_id, school_year_template_id, name, "
        "starts_on, ends_on) VALUES (%s, %s, %s, 'next', '2026-09-01', '2027-07-15')",
        [new, school_id, world.next_template_id],
    )
    if new_year_first_on_disk:  # an update writes the old year's row anew, after it
        pg.execute("UPDATE school_years SET name = name WHERE id = %s", [old_id])
    for scan in ("indexscan", "bitmapscan", "indexonlyscan"):
        pg.execute(f"SET enable_{scan} = off")  # read rows in their order on disk
    switch_sql = (
        "UPDATE school_years SET status = CASE WHEN id = %(id)s THEN 'active' "
        "ELSE 'closed' END WHERE school_id = %(school)s "
        "AND (status = 'active' OR id = %(id)s)"
    )
    params = {"id": new, "school": school_id}
    if new_year_first_on_disk:
        with pytest.raises(psycopg.errors.UniqueViolation):
            pg.execute(switch_sql, params)
    else:
        assert pg.execute(switch_sql, params).rowcount == 2


def test_close_school_year_closes_an_active_year_of_the_school_only(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    assert (
        db.school_years.close_school_year(
            id=first.school_year_id, school_id=second.school_id
        )
        == 0
    )
    assert (
        db.school_years.close_school_year(
            id=first.school_year_id, school_id=first.school_id
        )
        == 1
    )
    assert (
        db.school_years.close_school_year(
            id=first.school_year_id, school_id=first.school_id
        )
        == 0
    )
    assert db.school_years.get_active_school_year(school_id=first.school_id) is None
    assert db.school_years.close_active_school_year(school_id=first.school_id) == 0
    assert db.school_years.get_active_school_year(school_id=second.school_id)


def test_list_school_year_terms_gives_the_terms_in_order(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    terms = db.school_years.list_school_year_terms(
        school_year_id=first.school_year_id, school_id=first.school_id
    )
    assert [t.id for t in terms] == first.term_ids
    assert [t.sort_order for t in terms] == [1, 2, 3]
    assert (
        db.school_years.list_school_year_terms(
            school_year_id=first.school_year_id, school_id=second.school_id
        )
        == []
    )


def test_get_term_does_not_leak_another_schools_term(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    term = db.school_years.get_term(id=first.term_ids[1], school_id=first.school_id)
    assert term.name == "Trimestre 2"
    with pytest.raises(NoRowError):
        db.school_years.get_term(id=first.term_ids[1], school_id=second.school_id)


def test_find_current_term_finds_the_term_containing_a_day_or_none_in_holidays(
    db: ScopedDb, world: World
) -> None:
    school_id = world.first.school_id
    for day, expected in (
        (date(2025, 9, 1), 0),
        (date(2026, 2, 14), 1),
        (date(2026, 7, 15), 2),
    ):
        term = db.school_years.find_current_term(school_id=school_id, on_date=day)
        assert term is not None
        assert term.id == world.first.term_ids[expected]
    assert (
        db.school_years.find_current_term(school_id=school_id, on_date=date(2026, 4, 1))
        is None
    )
    assert (
        db.school_years.find_current_term(school_id=new_id(), on_date=date(2026, 2, 14))
        is None
    )


def test_upsert_terms_inserts_and_updates_by_position_and_counts_changes(
    db: ScopedDb, world: World
) -> None:
    first = world.first
    rows = [
        TermInsert(
            name="Trimestre 3 (revu)",
            sort_order=3,
            starts_on=date(2026, 4, 13),
            ends_on=date(2026, 7, 10),
        ),
        TermInsert(
            name="Rattrapage",
            sort_order=4,
            starts_on=date(2026, 7, 20),
            ends_on=date(2026, 7, 31),
        ),
    ]
    year = {"school_id": first.school_id, "school_year_id": first.school_year_id}
    assert db.school_years.upsert_terms(**year, **columns_of(rows)) == 2
    assert db.school_years.upsert_terms(**year, **columns_of(rows)) == 0
    terms = db.school_years.list_school_year_terms(
        school_year_id=first.school_year_id, school_id=first.school_id
    )
    assert [t.name for t in terms] == [
        "Trimestre 1",
        "Trimestre 2",
        "Trimestre 3 (revu)",
        "Rattrapage",
    ]
    assert terms[2].id == first.term_ids[2]
    assert terms[3].id == rows[1].id


def test_upsert_terms_writes_nothing_into_another_schools_year(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    first, second = world.schools
    written = db.school_years.upsert_terms(
        school_id=second.school_id,
        school_year_id=first.school_year_id,
        **columns_of(
            [
                TermInsert(
                    name="Intrus",
                    sort_order=1,
                    starts_on=date(2025, 9, 1),
                    ends_on=date(2025, 9, 30),
                )
            ]
        ),
    )
    assert written == 0
    assert pg.execute(
        "SELECT count(*) FROM terms WHERE name = 'Intrus'"
    ).fetchone() == (0,)
