-- Create school_year_templates, the global years ('2025-2026') schools start from.
-- depends: 0003_create-user-schools

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE school_year_templates (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    name text NOT NULL,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    is_active boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT school_year_templates_name_key UNIQUE (name),
    CONSTRAINT school_year_templates_starts_on_ends_on_check CHECK (ends_on > starts_on)
);

COMMENT ON TABLE school_year_templates
    IS 'Global school years; programs and coefficients are defined per template';

COMMENT ON INDEX school_year_templates_name_key
    IS 'serves school_years.find_school_year_template_by_name';

CREATE TRIGGER school_year_templates_set_updated_at
BEFORE UPDATE ON school_year_templates
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
