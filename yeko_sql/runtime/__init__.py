"""Calls at run time: databases, the libpq path, the pool, rows, streams."""
