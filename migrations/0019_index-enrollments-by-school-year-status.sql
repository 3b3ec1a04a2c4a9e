-- Index enrollments by school, school year and status for school-wide lists and counts.
-- depends: 0018_index-enrollments-by-class-status
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_school_id_school_year_id_status_idx
    ON enrollments (school_id, school_year_id, status);

COMMENT ON INDEX enrollments_school_id_school_year_id_status_idx
    IS 'serves enrollments.count_school_year_enrollments (index-only), enrollments.transfer_class_enrollments and students.withdraw_students';
