-- Index marks by school and term for school-wide mark-entry progress.
-- depends: 0031_index-marks-by-class-term
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS marks_school_id_term_id_idx
    ON marks (school_id, term_id);

COMMENT ON INDEX marks_school_id_term_id_idx
    IS 'serves the school foreign key (marks_school_id_fkey)';
