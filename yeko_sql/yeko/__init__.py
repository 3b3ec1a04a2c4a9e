"""Yeko's application: its Structs, seeding, demo and typed databases.

The toolkit's layers never import this package (tests/test_layers.py)."""
