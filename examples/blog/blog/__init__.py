"""A small blog on yeko-sql: authors, posts, tags and threaded comments."""
