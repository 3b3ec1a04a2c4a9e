-- Posts: drafts, published posts and archived ones.

-- name: create_post :one
-- returns: Post
-- Create one draft post; :metadata is any JSON object.
INSERT INTO posts (author_id, slug, title, body, metadata)
VALUES (:author_id, :slug, :title, :body, :metadata::jsonb)
RETURNING id, author_id, slug, title, body, status, metadata, published_at,
          created_at;

-- name: get_post_by_slug :one
-- returns: Post
-- One post by its slug.
-- Served by posts_slug_key.
SELECT id, author_id, slug, title, body, status, metadata, published_at,
       created_at
FROM posts
WHERE slug = :slug;

-- name: list_author_posts :many
-- returns: Post
-- Every post of one author, oldest first.
-- Served by posts_author_id_created_at_id_idx.
SELECT id, author_id, slug, title, body, status, metadata, published_at,
       created_at
FROM posts
WHERE author_id = :author_id
ORDER BY created_at, id;

-- name: list_published_posts :page
-- returns: PostSummary
-- Published posts, newest first.
-- Served by posts_published_at_id_where_published_idx.
SELECT p.id, p.slug, p.title, a.handle AS author_handle, p.published_at,
       count(*) OVER () AS total_count
FROM posts AS p
JOIN authors AS a ON a.id = p.author_id
WHERE p.status = 'published'
ORDER BY p.published_at DESC, p.id DESC
LIMIT :limit OFFSET :offset;

-- name: count_posts_by_status :scalar
-- How many posts have this status.
SELECT count(*)
FROM posts
WHERE status = :status;

-- name: publish_posts :execrows
-- Publish the given drafts now; returns how many changed.
UPDATE posts
SET status = 'published', published_at = now()
WHERE id = ANY(:ids)
  AND status = 'draft';

-- name: update_post_metadata :execrows
-- Merge :patch into one post's metadata (jsonb ||).
UPDATE posts
SET metadata = metadata || :patch::jsonb
WHERE id = :post_id;
