-- Create program_templates, a subject's syllabus for a grade in a template year.
-- depends: 0010_create-subjects

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE program_templates (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_year_template_id text NOT NULL REFERENCES school_year_templates (id),
    grade_id text NOT NULL REFERENCES grades (id),
    subject_id text NOT NULL REFERENCES subjects (id),
    name text NOT NULL,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'published', 'archived')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE program_templates
    IS 'Global syllabus of one subject for one grade in one template year';

CREATE INDEX program_templates_school_year_template_id_grade_id_idx
    ON program_templates (school_year_template_id, grade_id);

COMMENT ON INDEX program_templates_school_year_template_id_grade_id_idx
    IS 'serves the template year foreign key (program_templates_school_year_template_id_fkey); program_templates_template_grade_subject_key now serves programs.list_program_templates too';

CREATE INDEX program_templates_grade_id_idx
    ON program_templates (grade_id);

COMMENT ON INDEX program_templates_grade_id_idx
    IS 'serves the grade foreign key (program_templates_grade_id_fkey) on grade deletes';

CREATE INDEX program_templates_subject_id_idx
    ON program_templates (subject_id);

COMMENT ON INDEX program_templates_subject_id_idx
    IS 'serves the subject foreign key (program_templates_subject_id_fkey) on subject deletes';

CREATE TRIGGER program_templates_set_updated_at
BEFORE UPDATE ON program_templates
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
