"""One test module per sql/ file: every query runs on real rows."""
