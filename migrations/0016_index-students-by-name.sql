-- Index a school's students by full name for paged, name-ordered lists.
-- depends: 0015_create-students
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS students_school_id_full_name_id_idx
    ON students (school_id, full_name, id);

COMMENT ON INDEX students_school_id_full_name_id_idx
    IS 'serves students.list_students';
