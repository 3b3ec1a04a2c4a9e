-- Index pending enrollments of a school, oldest first, for the confirmation queue.
-- depends: 0021_index-enrollments-by-year
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_school_id_enrolled_at_where_pending_idx
    ON enrollments (school_id, enrolled_at, id)
    WHERE status = 'pending';

COMMENT ON INDEX enrollments_school_id_enrolled_at_where_pending_idx
    IS 'serves enrollments.list_pending_enrollments';
