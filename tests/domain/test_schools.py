import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.ids import new_id
from yeko_sql.yeko.domain.schools import School, SchoolInsert, SchoolStatusCount


def create(db: ScopedDb, **fields: object) -> School:
    fields.setdefault("name", "College Moderne")
    fields.setdefault("code", "CM001")
    insert = msgspec.convert(fields, SchoolInsert)
    school: School = db.schools.create_school(**msgspec.structs.asdict(insert))
    return school


def test_create_school_takes_a_school_insert_and_returns_the_row(db: ScopedDb) -> None:
    school = create(db, code="CM001", city="Bouake", settings={"lang": "fr"})
    assert (school.code, school.city, school.status) == ("CM001", "Bouake", "active")
    assert school.settings == {"lang": "fr"}
    assert school.phone is None
    assert db.schools.get_school(school_id=school.id) == school


def test_a_taken_code_cannot_create_a_second_school(db: ScopedDb, world: World) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation):
        create(db, code="LM001")


def test_get_school_raises_for_an_unknown_id(db: ScopedDb, world: World) -> None:
    with pytest.raises(NoRowError):
        db.schools.get_school(school_id=new_id())


def test_find_school_by_code_returns_the_school_or_none(
    db: ScopedDb, world: World
) -> None:
    found = db.schools.find_school_by_code(code="LM002")
    assert found is not None
    assert found.id == world.schools[1].school_id
    assert db.schools.find_school_by_code(code="lm002") is None


def test_list_schools_pages_newest_first_and_searches_name_or_code(
    db: ScopedDb, world: World
) -> None:
    codes = [create(db, name=f"College {i}", code=f"CM{i:03d}").code for i in range(3)]
    page = db.schools.list_schools(status="active", search=None, page=1, page_size=2)
    assert page.total == 5
    assert [s.code for s in page.items] == [codes[2], codes[1]]
    by_name = db.schools.list_schools(
        status="active", search="lycee", page=1, page_size=10
    )
    assert {s.code for s in by_name.items} == {"LM001", "LM002"}
    by_code = db.schools.list_schools(
        status="active", search="cm00", page=1, page_size=10
    )
    assert by_code.total == 3


def test_list_schools_sorts_by_name_or_code_when_asked(
    db: ScopedDb, world: World
) -> None:
    for name, code in (("Athenee", "ZZ001"), ("Zenith", "AA001")):
        create(db, name=name, code=code)
    args = {"status": "active", "search": None, "page": 1, "page_size": 10}
    by_name = db.schools.list_schools(**args, sort="name")
    assert [s.name for s in by_name.items] == [
        "Athenee",
        "Lycee Moderne 1",
        "Lycee Moderne 2",
        "Zenith",
    ]
    by_code = db.schools.list_schools(**args, sort="code")
    assert [s.code for s in by_code.items] == ["AA001", "LM001", "LM002", "ZZ001"]
    newest = db.schools.list_schools(**args, sort="newest")
    assert newest == db.schools.list_schools(**args)
    assert newest.items[0].code == "AA001"


def test_an_offset_past_the_end_still_reports_the_total(
    db: ScopedDb, world: World
) -> None:
    page = db.schools.list_schools(status="active", search=None, page=9, page_size=2)
    assert page.items == []
    assert page.total == 2


def test_status_changes_and_archiving_move_a_school_between_lists(
    db: ScopedDb, world: World
) -> None:
    school_id = world.first.school_id
    assert db.schools.update_school_status(school_id=school_id, status="suspended") == 1
    assert db.schools.update_school_status(school_id=school_id, status="suspended") == 0
    suspended = db.schools.list_schools(
        status="suspended", search=None, page=1, page_size=10
    )
    assert [s.id for s in suspended.items] == [school_id]
    assert db.schools.archive_school(school_id=school_id) == 1
    assert db.schools.archive_school(school_id=school_id) == 0
    assert db.schools.list_school_status_counts() == [
        SchoolStatusCount(status="active", total=1),
        SchoolStatusCount(status="archived", total=1),
    ]


def test_update_school_replaces_the_contact_fields(db: ScopedDb, world: World) -> None:
    school = db.schools.update_school(
        school_id=world.first.school_id,
        name="Lycee Classique",
        city="Yamoussoukro",
        address=None,
        phone="+225 0102030405",
        email="contact@lc.ci",
    )
    assert (school.name, school.city, school.phone) == (
        "Lycee Classique",
        "Yamoussoukro",
        "+225 0102030405",
    )
    assert school.code == "LM001"
    assert school.updated_at >= school.created_at


def test_update_school_raises_for_an_unknown_id(db: ScopedDb, world: World) -> None:
    with pytest.raises(NoRowError):
        db.schools.update_school(
            school_id=new_id(),
            name="X",
            city=None,
            address=None,
            phone=None,
            email=None,
        )


def test_settings_merge_top_level_keys_and_keep_the_others(
    db: ScopedDb, world: World
) -> None:
    school_id = world.first.school_id
    assert db.schools.get_school_settings(school_id=school_id).settings == {
        "lang": "fr"
    }
    merged = db.schools.update_school_settings(
        school_id=school_id, settings={"currency": "XOF", "report": {"rank": True}}
    )
    assert merged.settings == {
        "lang": "fr",
        "currency": "XOF",
        "report": {"rank": True},
    }
    again = db.schools.update_school_settings(
        school_id=school_id, settings={"lang": "en"}
    )
    assert again.settings["lang"] == "en"
    assert again.settings["currency"] == "XOF"
    other = db.schools.get_school_settings(school_id=world.schools[1].school_id)
    assert other.settings == {"lang": "fr"}


def test_settings_of_an_unknown_school_raise(db: ScopedDb, world: World) -> None:
    with pytest.raises(NoRowError):
        db.schools.update_school_settings(school_id=new_id(), settings={"a": 1})


def test_upsert_schools_inserts_new_codes_updates_known_ones_and_counts_changes(
    db: ScopedDb, world: World
) -> None:
    rows = [
        SchoolInsert(name="Lycee Moderne 1 bis", code="LM001", city="Abidjan"),
        SchoolInsert(name="College Nouveau", code="CN001", city="Daloa", phone="01"),
    ]
    fields = ["id", "name", "code", "city", "address", "phone", "email"]
    assert db.schools.upsert_schools(**columns_of(rows, fields)) == 2
    assert db.schools.upsert_schools(**columns_of(rows, fields)) == 0
    updated = db.schools.get_school(school_id=world.first.school_id)
    assert updated.name == "Lycee Moderne 1 bis"
    assert updated.settings == {"lang": "fr"}
    created = db.schools.find_school_by_code(code="CN001")
    assert created is not None
    assert (created.id, created.phone) == (rows[1].id, "01")
