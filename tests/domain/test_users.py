import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.ids import new_id
from yeko_sql.yeko.domain.users import User, UserInsert


def create(db: ScopedDb, email: str, full_name: str = "Kone Ibrahim") -> User:
    insert = UserInsert(email=email, full_name=full_name)
    user: User = db.users.create_user(**msgspec.structs.asdict(insert))
    return user


def test_create_user_stores_the_email_lower_case(db: ScopedDb) -> None:
    user = create(db, "Ibrahim.Kone@Yeko.CI")
    assert user.email == "ibrahim.kone@yeko.ci"
    assert user.status == "active"
    assert db.users.get_user(id=user.id) == user


def test_an_email_taken_in_another_case_cannot_create_a_second_user(
    db: ScopedDb,
) -> None:
    create(db, "awa@yeko.ci")
    with pytest.raises(psycopg.errors.UniqueViolation):
        create(db, "AWA@yeko.ci")


def test_find_user_by_email_ignores_case_and_returns_none_when_unknown(
    db: ScopedDb,
) -> None:
    user = create(db, "awa@yeko.ci")
    assert db.users.find_user_by_email(email="Awa@Yeko.ci") == user
    assert db.users.find_user_by_email(email="nobody@yeko.ci") is None
    with pytest.raises(NoRowError):
        db.users.get_user(id=new_id())


def test_profile_and_status_updates_change_one_user(db: ScopedDb) -> None:
    user = create(db, "awa@yeko.ci")
    assert (
        db.users.update_user_profile(
            id=user.id, full_name="Awa Traore", phone="+225 07"
        )
        == 1
    )
    assert db.users.update_user_status(id=user.id, status="suspended") == 1
    assert db.users.update_user_status(id=user.id, status="suspended") == 0
    changed = db.users.get_user(id=user.id)
    assert (changed.full_name, changed.phone, changed.status) == (
        "Awa Traore",
        "+225 07",
        "suspended",
    )
    assert db.users.update_user_profile(id=new_id(), full_name="X", phone=None) == 0


def test_upsert_users_matches_emails_in_any_case_and_counts_changes(
    db: ScopedDb,
) -> None:
    existing = create(db, "awa@yeko.ci", "Awa")
    rows = [
        UserInsert(email="AWA@yeko.ci", full_name="Awa Traore"),
        UserInsert(email="Moussa@Yeko.ci", full_name="Moussa Diallo", phone="05"),
    ]
    fields = ["id", "email", "full_name", "phone"]
    assert db.users.upsert_users(**columns_of(rows, fields)) == 2
    assert db.users.upsert_users(**columns_of(rows, fields)) == 0
    assert db.users.get_user(id=existing.id).full_name == "Awa Traore"
    moussa = db.users.find_user_by_email(email="moussa@yeko.ci")
    assert moussa is not None
    assert (moussa.id, moussa.phone) == (rows[1].id, "05")


def test_grant_membership_gives_one_role_per_school_and_changes_it(
    db: ScopedDb, world: World
) -> None:
    user = create(db, "awa@yeko.ci")
    school_id = world.first.school_id
    granted = db.users.grant_membership(
        id=new_id(), user_id=user.id, school_id=school_id, role="teacher"
    )
    changed = db.users.grant_membership(
        id=new_id(), user_id=user.id, school_id=school_id, role="director"
    )
    assert changed.id == granted.id
    assert changed.role == "director"
    assert (
        db.users.find_membership_by_user(user_id=user.id, school_id=school_id)
        == changed
    )


def test_update_membership_role_changes_members_only(
    db: ScopedDb, world: World
) -> None:
    user = create(db, "awa@yeko.ci")
    first, second = (s.school_id for s in world.schools)
    db.users.grant_membership(
        id=new_id(), user_id=user.id, school_id=first, role="teacher"
    )
    assert (
        db.users.update_membership_role(
            user_id=user.id, school_id=first, role="accountant"
        )
        == 1
    )
    assert (
        db.users.update_membership_role(
            user_id=user.id, school_id=first, role="accountant"
        )
        == 0
    )
    assert (
        db.users.update_membership_role(user_id=user.id, school_id=second, role="admin")
        == 0
    )
    assert db.users.find_membership_by_user(user_id=user.id, school_id=second) is None


def test_delete_membership_revokes_one_school_and_keeps_the_user(
    db: ScopedDb, world: World
) -> None:
    user = create(db, "awa@yeko.ci")
    first, second = (s.school_id for s in world.schools)
    for school_id in (first, second):
        db.users.grant_membership(
            id=new_id(), user_id=user.id, school_id=school_id, role="teacher"
        )
    assert db.users.delete_membership(user_id=user.id, school_id=first) == 1
    assert db.users.delete_membership(user_id=user.id, school_id=first) == 0
    assert [s.school_id for s in db.users.list_user_schools(user_id=user.id)] == [
        second
    ]
    assert db.users.get_user(id=user.id).id == user.id


def test_list_user_schools_gives_each_school_with_its_role(
    db: ScopedDb, world: World
) -> None:
    user = create(db, "awa@yeko.ci")
    first, second = (s.school_id for s in world.schools)
    db.users.grant_membership(
        id=new_id(), user_id=user.id, school_id=second, role="director"
    )
    db.users.grant_membership(
        id=new_id(), user_id=user.id, school_id=first, role="teacher"
    )
    schools = db.users.list_user_schools(user_id=user.id)
    assert [(s.code, s.role, s.status) for s in schools] == [
        ("LM001", "teacher", "active"),
        ("LM002", "director", "active"),
    ]
    assert db.users.list_user_schools(user_id=new_id()) == []


def test_list_school_users_pages_by_name_filters_role_and_search_and_stays_in_school(
    db: ScopedDb, world: World
) -> None:
    first, second = (s.school_id for s in world.schools)
    names = ["Yao Konan", "Bamba Awa", "Diallo Moussa"]
    users = [create(db, f"user{i}@yeko.ci", name) for i, name in enumerate(names)]
    assert (
        db.users.upsert_memberships(
            school_id=first,
            id=[new_id() for _ in users],
            user_id=[u.id for u in users],
            role=["teacher", "teacher", "accountant"],
        )
        == 3
    )
    outsider = create(db, "outsider@yeko.ci", "Aka Outsider")
    db.users.grant_membership(
        id=new_id(), user_id=outsider.id, school_id=second, role="teacher"
    )

    page = db.users.list_school_users(
        school_id=first, role=None, search=None, page=1, page_size=2
    )
    assert page.total == 3
    assert [m.full_name for m in page.items] == ["Bamba Awa", "Diallo Moussa"]
    teachers = db.users.list_school_users(
        school_id=first, role="teacher", search=None, page=1, page_size=10
    )
    assert [m.full_name for m in teachers.items] == ["Bamba Awa", "Yao Konan"]
    found = db.users.list_school_users(
        school_id=first, role=None, search="USER2", page=1, page_size=10
    )
    assert [m.user_id for m in found.items] == [users[2].id]
    nobody = db.users.list_school_users(
        school_id=first, role=None, search="Aka", page=1, page_size=10
    )
    assert nobody.total == 0


def test_upsert_memberships_counts_new_and_changed_roles_only(
    db: ScopedDb, world: World
) -> None:
    school_id = world.first.school_id
    users = [create(db, f"user{i}@yeko.ci") for i in range(2)]
    columns = {"id": [new_id(), new_id()], "user_id": [u.id for u in users]}
    assert (
        db.users.upsert_memberships(
            school_id=school_id, role=["teacher"] * 2, **columns
        )
        == 2
    )
    assert (
        db.users.upsert_memberships(
            school_id=school_id, role=["teacher"] * 2, **columns
        )
        == 0
    )
    assert (
        db.users.upsert_memberships(
            school_id=school_id, role=["teacher", "secretary"], **columns
        )
        == 1
    )
