-- Index marks by subject so deleting a subject finds its marks.
-- depends: 0033_index-marks-by-term
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS marks_subject_id_idx
    ON marks (subject_id);

COMMENT ON INDEX marks_subject_id_idx
    IS 'serves the subject foreign key (marks_subject_id_fkey) on subject deletes';
