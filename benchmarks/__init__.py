"""Benchmarks: yeko-sql against its peers, ratios in the same run (`make bench`)."""
