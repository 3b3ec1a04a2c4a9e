"""Tests of yeko-sql (run with `make test`)."""
