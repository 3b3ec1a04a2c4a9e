-- Index a school year's enrollments by enrolment time for keyset-paged lists.
-- depends: 0038_create-analytics-role
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_school_id_school_year_id_enrolled_at_id_idx
    ON enrollments (school_id, school_year_id, enrolled_at, id);

COMMENT ON INDEX enrollments_school_id_school_year_id_enrolled_at_id_idx
    IS 'serves enrollments.list_school_year_enrollments';
