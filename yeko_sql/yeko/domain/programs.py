"""Program templates: a subject's syllabus for a grade in a template year."""

from datetime import datetime
from typing import Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "ChapterSummary",
    "ProgramChapter",
    "ProgramDetail",
    "ProgramStatus",
    "ProgramSummary",
    "ProgramTemplate",
    "ProgramTemplateData",
    "ProgramTemplateInsert",
]

ProgramStatus = Literal["draft", "published", "archived"]


class ProgramTemplateData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a program template; a new one is a draft."""

    school_year_template_id: str
    grade_id: str
    subject_id: str
    name: str


class ProgramTemplateInsert(ProgramTemplateData, frozen=True, kw_only=True):
    """What create_program_template binds: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class ProgramTemplate(ProgramTemplateData, frozen=True, kw_only=True):
    """A row of ``program_templates`` as queries select it."""

    id: str
    status: ProgramStatus
    created_at: datetime
    updated_at: datetime


class ProgramChapter(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``program_template_chapters``."""

    id: str
    program_template_id: str
    title: str
    sort_order: int
    duration_hours: int | None
    created_at: datetime
    updated_at: datetime


class ChapterSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One chapter inside a ProgramDetail (built by jsonb_agg)."""

    id: str
    title: str
    sort_order: int
    duration_hours: int | None


class ProgramSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A program in a grade's list: its subject, status and size."""

    id: str
    subject_id: str
    subject_name: str
    name: str
    status: ProgramStatus
    chapter_count: int
    total_hours: int


class ProgramDetail(ProgramTemplate, frozen=True, kw_only=True):
    """A program template with its grade, subject and ordered chapters."""

    grade_name: str
    subject_name: str
    chapters: list[ChapterSummary]
