import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World, new_id
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.yeko.domain.classes import SchoolClass, SchoolClassInsert
from yeko_sql.yeko.domain.school_years import SchoolYear

UPSERT_FIELDS = ["id", "grade_id", "series_id", "name", "capacity"]


def enroll(
    pg: psycopg.Connection,
    world: World,
    class_name: str,
    count: int,
    status: str = "confirmed",
) -> None:
    school = world.first
    index = list(school.class_ids).index(class_name)
    for student_id in school.student_ids[index * 10 : index * 10 + count]:
        pg.execute(
            "INSERT INTO enrollments (id, school_id, student_id, class_id, "
            "school_year_id, status, confirmed_at) VALUES (%s, %s, %s, %s, %s, %s, "
            "CASE WHEN %s = 'confirmed' THEN now() END)",
            [
                new_id(),
                school.school_id,
                student_id,
                school.class_ids[class_name],
                school.school_year_id,
                status,
                status,
            ],
        )


def next_year(db: ScopedDb, world: World) -> SchoolYear:
    year: SchoolYear = db.school_years.create_school_year(
        id=new_id(),
        school_id=world.first.school_id,
        school_year_template_id=world.next_template_id,
    )
    return year


def test_create_class_takes_a_school_class_insert(db: ScopedDb, world: World) -> None:
    insert = SchoolClassInsert(
        school_id=world.first.school_id,
        school_year_id=world.first.school_year_id,
        grade_id=world.grade_ids["TLE"],
        series_id=world.series_ids["D"],
        name="Tle D1",
        capacity=45,
    )
    created = db.classes.create_class(**msgspec.structs.asdict(insert))
    assert created == db.classes.get_class(id=insert.id, school_id=insert.school_id)
    assert (created.name, created.capacity, created.status) == ("Tle D1", 45, "active")


def test_create_class_refuses_another_schools_year_and_a_taken_name(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    with pytest.raises(NoRowError):
        db.classes.create_class(
            **msgspec.structs.asdict(
                SchoolClassInsert(
                    school_id=second.school_id,
                    school_year_id=first.school_year_id,
                    grade_id=world.grade_ids["6EME"],
                    name="6e B",
                )
            )
        )
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.classes.create_class(
            **msgspec.structs.asdict(
                SchoolClassInsert(
                    school_id=first.school_id,
                    school_year_id=first.school_year_id,
                    grade_id=world.grade_ids["6EME"],
                    name="6e A",
                )
            )
        )


def test_get_and_find_class_do_not_leak_another_schools_class(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    class_id = first.class_ids["Tle C"]
    found = db.classes.find_class_by_name(
        school_id=first.school_id, school_year_id=first.school_year_id, name="Tle C"
    )
    assert isinstance(found, SchoolClass)
    assert (found.id, found.series_id) == (class_id, world.series_ids["C"])
    assert (
        db.classes.find_class_by_name(
            school_id=second.school_id,
            school_year_id=first.school_year_id,
            name="Tle C",
        )
        is None
    )
    with pytest.raises(NoRowError):
        db.classes.get_class(id=class_id, school_id=second.school_id)


def test_list_school_classes_orders_by_grade_and_counts_confirmed_students(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    enroll(pg, world, "6e A", 7)
    enroll(pg, world, "Tle C", 3)
    enroll(pg, world, "Tle C", 0)
    school = world.first
    index = list(school.class_ids).index("5e A")
    pg.execute(
        "INSERT INTO enrollments (id, school_id, student_id, class_id, school_year_id) "
        "VALUES (%s, %s, %s, %s, %s)",
        [
            new_id(),
            school.school_id,
            school.student_ids[index * 10],
            school.class_ids["5e A"],
            school.school_year_id,
        ],
    )
    classes = db.classes.list_school_classes(
        school_id=school.school_id, school_year_id=school.school_year_id, status=None
    )
    assert [c.name for c in classes] == [
        "6e A",
        "5e A",
        "4e A",
        "3e A",
        "2nde A",
        "2nde C",
        "1ere A",
        "1ere C",
        "Tle A",
        "Tle C",
    ]
    counts = {c.name: c.confirmed_count for c in classes}
    assert (counts["6e A"], counts["5e A"], counts["Tle C"]) == (7, 0, 3)
    tle_c = classes[-1]
    assert (tle_c.grade_name, tle_c.series_code, tle_c.capacity) == ("Tle", "C", 40)
    assert classes[0].series_code is None
    assert (
        db.classes.list_school_classes(
            school_id=world.schools[1].school_id,
            school_year_id=school.school_year_id,
            status=None,
        )
        == []
    )


def test_capacity_and_name_updates_stay_in_the_school(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    mine = {"id": first.class_ids["6e A"], "school_id": first.school_id}
    theirs = {**mine, "school_id": second.school_id}
    assert db.classes.update_class_capacity(**theirs, capacity=50) == 0
    assert db.classes.update_class_capacity(**mine, capacity=50) == 1
    assert db.classes.update_class_name(**theirs, name="Intrus") == 0
    assert db.classes.update_class_name(**mine, name="6e A1") == 1
    changed = db.classes.get_class(**mine)
    assert (changed.name, changed.capacity) == ("6e A1", 50)
    assert db.classes.update_class_capacity(**mine, capacity=None) == 1
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.classes.update_class_name(**mine, name="5e A")


def test_archive_classes_hides_them_from_the_active_list(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    ids = [first.class_ids["Tle A"], first.class_ids["Tle C"]]
    assert db.classes.archive_classes(ids=ids, school_id=second.school_id) == 0
    assert db.classes.archive_classes(ids=ids, school_id=first.school_id) == 2
    assert db.classes.archive_classes(ids=ids, school_id=first.school_id) == 0
    active = db.classes.list_school_classes(
        school_id=first.school_id, school_year_id=first.school_year_id, status="active"
    )
    assert len(active) == 8
    archived = db.classes.list_school_classes(
        school_id=first.school_id,
        school_year_id=first.school_year_id,
        status="archived",
    )
    assert sorted(c.id for c in archived) == sorted(ids)


def test_lookup_classes_preloads_a_years_classes_by_id(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    lookup = {
        c.id: c
        for c in db.classes.lookup_classes(
            school_id=first.school_id, school_year_id=first.school_year_id
        )
    }
    assert set(lookup) == set(first.class_ids.values())
    tle_c = lookup[first.class_ids["Tle C"]]
    assert (tle_c.name, tle_c.grade_id, tle_c.capacity, tle_c.status) == (
        "Tle C",
        world.grade_ids["TLE"],
        40,
        "active",
    )
    assert (
        db.classes.lookup_classes(
            school_id=second.school_id, school_year_id=first.school_year_id
        )
        == []
    )


def test_upsert_classes_inserts_and_updates_by_name_and_counts_changes(
    db: ScopedDb, world: World
) -> None:
    first = world.first
    year = {"school_id": first.school_id, "school_year_id": first.school_year_id}
    rows = [
        SchoolClassInsert(
            **year,
            grade_id=world.grade_ids["TLE"],
            series_id=world.series_ids[code],
            name=f"Tle {code}",
            capacity=capacity,
        )
        for code, capacity in (("C", 35), ("D", None))
    ]
    columns = columns_of(rows, UPSERT_FIELDS)
    assert db.classes.upsert_classes(**year, **columns) == 2
    assert db.classes.upsert_classes(**year, **columns) == 0
    tle_c = db.classes.get_class(id=first.class_ids["Tle C"], school_id=first.school_id)
    assert tle_c.capacity == 35
    tle_d = db.classes.find_class_by_name(name="Tle D", **year)
    assert tle_d is not None
    assert (tle_d.id, tle_d.capacity) == (rows[1].id, None)


def test_upsert_classes_writes_nothing_into_another_schools_year(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    written = db.classes.upsert_classes(
        school_id=second.school_id,
        school_year_id=first.school_year_id,
        id=[new_id()],
        grade_id=[world.grade_ids["6EME"]],
        series_id=[None],
        name=["6e A"],
        capacity=[1],
    )
    assert written == 0
    assert (
        db.classes.get_class(
            id=first.class_ids["6e A"], school_id=first.school_id
        ).capacity
        == 40
    )


def test_copy_classes_rolls_active_classes_into_the_next_year_once(
    db: ScopedDb, world: World
) -> None:
    first, second = world.schools
    year = next_year(db, world)
    db.classes.archive_classes(
        ids=[first.class_ids["Tle A"]], school_id=first.school_id
    )
    copy = {
        "source_school_year_id": first.school_year_id,
        "target_school_year_id": year.id,
    }
    assert db.classes.copy_classes(school_id=second.school_id, **copy) == 0
    assert db.classes.copy_classes(school_id=first.school_id, **copy) == 9
    assert db.classes.copy_classes(school_id=first.school_id, **copy) == 0
    copied = db.classes.lookup_classes(
        school_id=first.school_id, school_year_id=year.id
    )
    assert "Tle A" not in {c.name for c in copied}
    assert {c.capacity for c in copied} == {40}
    assert not {c.id for c in copied} & set(first.class_ids.values())
