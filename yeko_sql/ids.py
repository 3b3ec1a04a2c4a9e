"""Primary keys: 21-character nanoids generated in Python."""

from __future__ import annotations

import base64
import os

__all__ = ["ID_LENGTH", "new_id"]

ID_LENGTH = 21
"""Every primary key holds exactly this many characters (a CHECK enforces it)."""


def new_id() -> str:
    """Return a fresh 21-character nanoid: URL-safe alphabet, 126 random bits.

    The same alphabet and strength as ``nanoid.generate()``, from one
    ``os.urandom`` call: 0.5 µs instead of nanoid's 2.6 µs per id.
    """
    return base64.urlsafe_b64encode(os.urandom(16))[:ID_LENGTH].decode()
