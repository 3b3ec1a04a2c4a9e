"""The typed ``.pyi`` of an app's queries, written from describe."""
