"""Coefficients: a subject's weight for a grade and series in a template year."""

from datetime import datetime

import msgspec

__all__ = ["CoefficientSummary", "CoefficientTemplate", "SubjectCoefficient"]


class CoefficientTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``coefficient_templates``; series_id is None for grades without."""

    id: str
    school_year_template_id: str
    grade_id: str
    series_id: str | None
    subject_id: str
    weight: int
    created_at: datetime
    updated_at: datetime


class SubjectCoefficient(msgspec.Struct, frozen=True, kw_only=True):
    """A subject's weight, to preload into a dict for average computations."""

    subject_id: str
    weight: int


class CoefficientSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A coefficient with its grade, series and subject names, for the admin grid."""

    id: str
    grade_id: str
    grade_name: str
    series_id: str | None
    series_code: str | None
    subject_id: str
    subject_name: str
    weight: int
