-- Index marks by student and term for report cards.
-- depends: 0029_create-marks
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS marks_student_id_term_id_subject_id_idx
    ON marks (student_id, term_id, subject_id);

COMMENT ON INDEX marks_student_id_term_id_subject_id_idx
    IS 'serves marks.list_student_report_card';
