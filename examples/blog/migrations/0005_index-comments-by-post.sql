-- Index a post's comments in thread order for list_post_comments.
-- depends: 0004_create-comments
-- transactional: false

CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_post_id_created_at_id_idx
    ON comments (post_id, created_at, id);

COMMENT ON INDEX comments_post_id_created_at_id_idx
    IS 'serves comments.list_post_comments';
