-- Comments: on a post, or a reply to another comment (parent_id).

-- name: create_comment :one
-- returns: Comment
-- Comment on a post; :parent_id is the comment this one answers, or None.
INSERT INTO comments (post_id, author_id, parent_id, body)
VALUES (:post_id, :author_id, :parent_id, :body)
RETURNING id, post_id, author_id, parent_id, body, created_at;

-- name: list_post_comments :many
-- returns: Comment
-- A post's comments and replies, oldest first.
-- Served by comments_post_id_created_at_id_idx.
SELECT id, post_id, author_id, parent_id, body, created_at
FROM comments
WHERE post_id = :post_id
ORDER BY created_at, id;

-- name: count_replies :scalar
-- How many replies answer one comment.
-- Served by comments_parent_id_idx.
SELECT count(*)
FROM comments
WHERE parent_id = :comment_id;
