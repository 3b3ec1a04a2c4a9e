"""Yeko's msgspec Structs, one module per ``sql/`` file.

Rows of a table are ``X``; what a caller chooses is ``XData``; what an insert
binds (data plus a fresh id) is ``XInsert``; joins and aggregates have names
of their own. Status columns are ``Literal`` aliases.
"""
