-- Index marks by class, term and subject for mark sheets and class averages.
-- depends: 0030_index-marks-by-student-term
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS marks_class_id_term_id_subject_id_idx
    ON marks (class_id, term_id, subject_id);

COMMENT ON INDEX marks_class_id_term_id_subject_id_idx
    IS 'serves marks.list_class_subject_marks and marks.list_class_ranking';
