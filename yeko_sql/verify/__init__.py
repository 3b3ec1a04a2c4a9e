"""Queries judged against the real schema: describe, check, rules, plans."""
