-- Drop comments_post_id_created_at_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS comments_post_id_created_at_id_idx;
