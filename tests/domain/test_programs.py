import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.ids import new_id
from yeko_sql.yeko.domain.programs import (
    ChapterSummary,
    ProgramTemplate,
    ProgramTemplateInsert,
)


def create(
    db: ScopedDb, world: World, subject: str = "MATH", grade: str = "TLE"
) -> ProgramTemplate:
    insert = ProgramTemplateInsert(
        school_year_template_id=world.template_id,
        grade_id=world.grade_ids[grade],
        subject_id=world.subject_ids[subject],
        name=f"Programme {subject} {grade}",
    )
    program: ProgramTemplate = db.programs.create_program_template(
        **msgspec.structs.asdict(insert)
    )
    return program


def chapters(
    ids: list[str], titles: list[str], durations: list[int | None]
) -> dict[str, object]:
    return {
        "id": ids,
        "title": titles,
        "sort_order": list(range(1, len(ids) + 1)),
        "duration_hours": durations,
    }


def test_create_program_template_makes_a_draft_once_per_subject_and_grade(
    db: ScopedDb, world: World
) -> None:
    program = create(db, world)
    assert program.status == "draft"
    assert program.grade_id == world.grade_ids["TLE"]
    with pytest.raises(psycopg.errors.UniqueViolation):
        create(db, world)


def test_upsert_program_templates_binds_columns_of_inserts_by_natural_key(
    db: ScopedDb, world: World
) -> None:
    existing = create(db, world, "MATH")
    rows = [
        ProgramTemplateInsert(
            school_year_template_id=world.template_id,
            grade_id=world.grade_ids["TLE"],
            subject_id=world.subject_ids[subject],
            name=f"Nouveau programme {subject}",
        )
        for subject in ("MATH", "FR")
    ]
    assert db.programs.upsert_program_templates(**columns_of(rows)) == 2
    assert db.programs.upsert_program_templates(**columns_of(rows)) == 0
    listed = db.programs.list_program_templates(
        school_year_template_id=world.template_id, grade_id=world.grade_ids["TLE"]
    )
    assert [(p.id, p.name, p.status) for p in listed] == [
        (rows[1].id, "Nouveau programme FR", "draft"),
        (existing.id, "Nouveau programme MATH", "draft"),
    ]


def test_get_program_template_nests_its_chapters_in_order(
    db: ScopedDb, world: World
) -> None:
    program = create(db, world)
    empty = db.programs.get_program_template(id=program.id)
    assert empty.chapters == []
    assert (empty.grade_name, empty.subject_name) == ("Tle", "Mathematiques")
    ids = [new_id() for _ in range(3)]
    db.programs.upsert_program_template_chapters(
        program_template_id=program.id,
        **chapters(ids, ["Limites", "Derivees", "Integrales"], [12, None, 20]),
    )
    detail = db.programs.get_program_template(id=program.id)
    assert detail.chapters == [
        ChapterSummary(id=ids[0], title="Limites", sort_order=1, duration_hours=12),
        ChapterSummary(id=ids[1], title="Derivees", sort_order=2, duration_hours=None),
        ChapterSummary(id=ids[2], title="Integrales", sort_order=3, duration_hours=20),
    ]
    saved_again = db.programs.upsert_program_template_chapters(
        program_template_id=program.id, **columns_of(detail.chapters)
    )
    assert saved_again == 0
    with pytest.raises(NoRowError):
        db.programs.get_program_template(id=new_id())


def test_list_program_templates_gives_a_grades_programs_with_their_size(
    db: ScopedDb, world: World
) -> None:
    maths = create(db, world, "MATH")
    french = create(db, world, "FR")
    create(db, world, "MATH", grade="6EME")
    db.programs.upsert_program_template_chapters(
        program_template_id=maths.id,
        **chapters([new_id(), new_id()], ["Suites", "Probabilites"], [10, None]),
    )
    listed = db.programs.list_program_templates(
        school_year_template_id=world.template_id, grade_id=world.grade_ids["TLE"]
    )
    assert [(p.id, p.subject_name, p.chapter_count, p.total_hours) for p in listed] == [
        (french.id, "Francais", 0, 0),
        (maths.id, "Mathematiques", 2, 10),
    ]
    assert (
        db.programs.list_program_templates(
            school_year_template_id=world.next_template_id,
            grade_id=world.grade_ids["TLE"],
        )
        == []
    )


def test_upsert_chapters_updates_by_id_counts_changes_and_ignores_other_programs(
    db: ScopedDb, world: World
) -> None:
    maths, french = create(db, world, "MATH"), create(db, world, "FR")
    ids = [new_id(), new_id()]
    first = chapters(ids, ["Suites", "Limites"], [10, 8])
    assert (
        db.programs.upsert_program_template_chapters(
            program_template_id=maths.id, **first
        )
        == 2
    )
    assert (
        db.programs.upsert_program_template_chapters(
            program_template_id=maths.id, **first
        )
        == 0
    )
    reordered = {**first, "title": ["Limites", "Suites"], "sort_order": [2, 1]}
    assert (
        db.programs.upsert_program_template_chapters(
            program_template_id=maths.id, **reordered
        )
        == 2
    )
    listed = db.programs.list_program_template_chapters(program_template_id=maths.id)
    assert [(c.id, c.title) for c in listed] == [
        (ids[1], "Suites"),
        (ids[0], "Limites"),
    ]
    stolen = chapters([ids[0]], ["Poesie"], [4])
    assert (
        db.programs.upsert_program_template_chapters(
            program_template_id=french.id, **stolen
        )
        == 0
    )
    assert (
        db.programs.list_program_template_chapters(program_template_id=french.id) == []
    )


def test_delete_chapters_keeps_only_the_listed_ones(db: ScopedDb, world: World) -> None:
    program = create(db, world)
    ids = [new_id() for _ in range(3)]
    db.programs.upsert_program_template_chapters(
        program_template_id=program.id, **chapters(ids, ["A", "B", "C"], [1, 2, 3])
    )
    assert (
        db.programs.delete_program_template_chapters(
            program_template_id=program.id, keep_ids=[ids[1]]
        )
        == 2
    )
    assert [
        c.id
        for c in db.programs.list_program_template_chapters(
            program_template_id=program.id
        )
    ] == [ids[1]]
    assert (
        db.programs.delete_program_template_chapters(
            program_template_id=program.id, keep_ids=[]
        )
        == 1
    )


def test_publish_and_archive_move_a_program_through_its_statuses(
    db: ScopedDb, world: World
) -> None:
    program = create(db, world)
    assert db.programs.publish_program_template(id=program.id) == 1
    assert db.programs.publish_program_template(id=program.id) == 0
    assert db.programs.get_program_template(id=program.id).status == "published"
    assert db.programs.archive_program_template(id=program.id) == 1
    assert db.programs.archive_program_template(id=program.id) == 0
    assert db.programs.publish_program_template(id=program.id) == 0
    assert db.programs.publish_program_template(id=new_id()) == 0
