-- Authors: the people who write posts and comments.

-- name: create_author :one
-- returns: Author
-- Create one author; a taken handle raises UniqueViolation.
INSERT INTO authors (handle, display_name)
VALUES (:handle, :display_name)
RETURNING id, handle, display_name, created_at;

-- name: find_author_by_handle :opt
-- returns: Author
-- The author with this handle, or None.
-- Served by authors_handle_key.
SELECT id, handle, display_name, created_at
FROM authors
WHERE handle = :handle;

-- name: upsert_authors :execrows
-- Insert authors, or rename the ones whose handle exists; returns the rows written.
INSERT INTO authors (handle, display_name)
SELECT *
FROM unnest(:handle::text[], :display_name::text[])
ON CONFLICT (handle) DO UPDATE
SET display_name = excluded.display_name;
