"""Primary keys: 21-character nanoids generated in Python."""

from __future__ import annotations

from nanoid import generate

__all__ = ["ID_LENGTH", "new_id"]

ID_LENGTH = 21
"""Every primary key holds exactly this many characters (a CHECK enforces it)."""


def new_id() -> str:
    """Return a fresh 21-character nanoid (URL-safe alphabet, 126 random bits)."""
    return str(generate(size=ID_LENGTH))
