"""The global catalog: tracks (cycles), grades, series (streams) and subjects."""

from datetime import datetime
from typing import Literal

import msgspec

__all__ = [
    "Grade",
    "GradeLookup",
    "Series",
    "SeriesLookup",
    "Subject",
    "SubjectCategory",
    "SubjectLookup",
    "Track",
    "TrackLookup",
]

SubjectCategory = Literal["scientific", "literary", "sports", "other"]


class Track(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``tracks``: Premier cycle, Second cycle."""

    id: str
    name: str
    code: str
    created_at: datetime
    updated_at: datetime


class Grade(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``grades``: 6e ... Tle, in a track, by sort_order."""

    id: str
    track_id: str
    name: str
    code: str
    sort_order: int
    created_at: datetime
    updated_at: datetime


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``series``: a second-cycle stream (A, C, D)."""

    id: str
    track_id: str
    name: str
    code: str
    created_at: datetime
    updated_at: datetime


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``subjects``."""

    id: str
    name: str
    short_name: str | None
    category: SubjectCategory
    created_at: datetime
    updated_at: datetime


class TrackLookup(msgspec.Struct, frozen=True, kw_only=True):
    """A track to preload into a dict (by id or by code)."""

    id: str
    code: str
    name: str


class GradeLookup(msgspec.Struct, frozen=True, kw_only=True):
    """A grade to preload into a dict (by id or by code)."""

    id: str
    code: str
    name: str
    track_id: str
    sort_order: int


class SeriesLookup(msgspec.Struct, frozen=True, kw_only=True):
    """A series to preload into a dict (by id or by code)."""

    id: str
    code: str
    name: str


class SubjectLookup(msgspec.Struct, frozen=True, kw_only=True):
    """A subject to preload into a dict (by id, name or short name)."""

    id: str
    name: str
    short_name: str | None
    category: SubjectCategory
