-- Drop program_templates_template_grade_subject_key.

DROP INDEX CONCURRENTLY IF EXISTS program_templates_template_grade_subject_key;
