-- Index marks by term so deleting a term finds its marks.
-- depends: 0032_index-marks-by-school-term
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS marks_term_id_idx
    ON marks (term_id);

COMMENT ON INDEX marks_term_id_idx
    IS 'serves the term foreign key (marks_term_id_fkey) on term deletes';
