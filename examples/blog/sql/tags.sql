-- Tags: labels on posts, many to many through post_tags.

-- name: insert_tags :execrows
-- Insert the tags that do not exist yet; returns how many were new.
INSERT INTO tags (name)
SELECT *
FROM unnest(:names::text[])
ON CONFLICT (name) DO NOTHING;

-- name: tag_post :execrows
-- Tag one post with existing tags, by name; returns how many tags were added.
INSERT INTO post_tags (post_id, tag_id)
SELECT :post_id, t.id
FROM tags AS t
WHERE t.name = ANY(:names)
ON CONFLICT (post_id, tag_id) DO NOTHING;

-- name: list_post_tags :many
-- returns: Tag
-- The tags of one post, by name.
-- Served by post_tags_pkey.
SELECT t.id, t.name
FROM post_tags AS pt
JOIN tags AS t ON t.id = pt.tag_id
WHERE pt.post_id = :post_id
ORDER BY t.name, t.id;

-- name: list_tagged_posts :many
-- returns: PostSummary
-- Published posts carrying one tag, newest first.
-- Served by post_tags_tag_id_post_id_idx.
SELECT p.id, p.slug, p.title, a.handle AS author_handle, p.published_at
FROM tags AS t
JOIN post_tags AS pt ON pt.tag_id = t.id
JOIN posts AS p ON p.id = pt.post_id
JOIN authors AS a ON a.id = p.author_id
WHERE t.name = :name
  AND p.status = 'published'
ORDER BY p.published_at DESC, p.id DESC;
