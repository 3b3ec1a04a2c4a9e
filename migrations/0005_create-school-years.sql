-- Create school_years, a school's copy of a template; one active year per school.
-- depends: 0004_create-school-year-templates

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE school_years (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    school_year_template_id text NOT NULL REFERENCES school_year_templates (id),
    name text NOT NULL,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'active', 'closed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT school_years_school_id_school_year_template_id_key
        UNIQUE (school_id, school_year_template_id),
    CONSTRAINT school_years_starts_on_ends_on_check CHECK (ends_on > starts_on)
);

COMMENT ON TABLE school_years
    IS 'A school''s year, made from a template; draft, then active, then closed';

COMMENT ON INDEX school_years_school_id_school_year_template_id_key
    IS 'serves school_years.list_school_years and school_years.create_school_year';

CREATE UNIQUE INDEX school_years_school_id_where_active_key
    ON school_years (school_id)
    WHERE status = 'active';

COMMENT ON INDEX school_years_school_id_where_active_key
    IS 'serves school_years.get_active_school_year: one active year per school';

CREATE INDEX school_years_school_year_template_id_idx
    ON school_years (school_year_template_id);

COMMENT ON INDEX school_years_school_year_template_id_idx
    IS 'serves school_years.count_template_school_years and the template foreign key';

CREATE TRIGGER school_years_set_updated_at
BEFORE UPDATE ON school_years
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
