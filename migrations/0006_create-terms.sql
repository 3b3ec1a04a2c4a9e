-- Create terms, the trimesters of a school year that marks are recorded against.
-- depends: 0005_create-school-years

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE terms (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    school_year_id text NOT NULL REFERENCES school_years (id),
    name text NOT NULL,
    sort_order smallint NOT NULL CHECK (sort_order > 0),
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT terms_school_year_id_sort_order_key UNIQUE (school_year_id, sort_order),
    CONSTRAINT terms_starts_on_ends_on_check CHECK (ends_on > starts_on)
);

COMMENT ON TABLE terms
    IS 'Trimesters (or semesters) of a school year; marks are recorded per term';

COMMENT ON INDEX terms_school_year_id_sort_order_key
    IS 'serves school_years.list_school_year_terms and school_years.upsert_terms';

CREATE INDEX terms_school_id_starts_on_idx
    ON terms (school_id, starts_on);

COMMENT ON INDEX terms_school_id_starts_on_idx
    IS 'serves school_years.find_current_term';

CREATE TRIGGER terms_set_updated_at
BEFORE UPDATE ON terms
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
