-- Index enrollments by school year so closing or deleting a year finds its rows.
-- depends: 0020_index-enrollments-by-student-year
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_school_year_id_idx
    ON enrollments (school_year_id);

COMMENT ON INDEX enrollments_school_year_id_idx
    IS 'serves the school year foreign key (enrollments_school_year_id_fkey)';
