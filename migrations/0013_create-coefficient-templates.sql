-- Create coefficient_templates, a subject's weight per grade and series in a year.
-- depends: 0012_create-program-template-chapters

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE coefficient_templates (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_year_template_id text NOT NULL REFERENCES school_year_templates (id),
    grade_id text NOT NULL REFERENCES grades (id),
    series_id text REFERENCES series (id),
    subject_id text NOT NULL REFERENCES subjects (id),
    weight smallint NOT NULL CHECK (weight > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT coefficient_templates_template_grade_series_subject_key
        UNIQUE NULLS NOT DISTINCT (
            school_year_template_id, grade_id, series_id, subject_id
        )
);

COMMENT ON TABLE coefficient_templates
    IS 'Global subject weights; series_id is NULL for grades without series';

COMMENT ON INDEX coefficient_templates_template_grade_series_subject_key
    IS 'serves coefficients.find_coefficient, coefficients.lookup_coefficients and coefficients.upsert_coefficients';

CREATE INDEX coefficient_templates_grade_id_idx
    ON coefficient_templates (grade_id);

COMMENT ON INDEX coefficient_templates_grade_id_idx
    IS 'serves the grade foreign key (coefficient_templates_grade_id_fkey) on grade deletes';

CREATE INDEX coefficient_templates_series_id_idx
    ON coefficient_templates (series_id);

COMMENT ON INDEX coefficient_templates_series_id_idx
    IS 'serves the series foreign key (coefficient_templates_series_id_fkey) on series deletes';

CREATE INDEX coefficient_templates_subject_id_idx
    ON coefficient_templates (subject_id);

COMMENT ON INDEX coefficient_templates_subject_id_idx
    IS 'serves the subject foreign key (coefficient_templates_subject_id_fkey) on subject deletes';

CREATE TRIGGER coefficient_templates_set_updated_at
BEFORE UPDATE ON coefficient_templates
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
