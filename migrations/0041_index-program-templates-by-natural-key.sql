-- Make template year, grade and subject the unique key of program templates.
-- depends: 0040_index-payments-by-school-year-paid-at
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

-- A unique index, not ADD CONSTRAINT ... UNIQUE: built concurrently, it takes no
-- lock that blocks reads or writes, and ON CONFLICT infers it from its columns.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS program_templates_template_grade_subject_key
    ON program_templates (school_year_template_id, grade_id, subject_id);

COMMENT ON INDEX program_templates_template_grade_subject_key
    IS 'serves programs.upsert_program_templates and programs.list_program_templates: one program per subject, grade and template year';
