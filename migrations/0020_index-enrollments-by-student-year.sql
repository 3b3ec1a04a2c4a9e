-- Index enrollments by student and school year for a student's history.
-- depends: 0019_index-enrollments-by-school-year-status
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_student_id_school_year_id_idx
    ON enrollments (student_id, school_year_id);

COMMENT ON INDEX enrollments_student_id_school_year_id_idx
    IS 'serves enrollments.list_student_enrollments, enrollments.lookup_student_enrollments and students.get_student_profile';
