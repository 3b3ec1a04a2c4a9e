-- Create subjects, the global catalog of taught subjects.
-- depends: 0009_create-series

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE subjects (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    name text NOT NULL,
    short_name text,
    category text NOT NULL DEFAULT 'other'
        CHECK (category IN ('scientific', 'literary', 'sports', 'other')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subjects_name_key UNIQUE (name)
);

COMMENT ON TABLE subjects
    IS 'Global catalog of subjects (Mathematiques, Francais, SVT, ...)';

COMMENT ON INDEX subjects_name_key
    IS 'serves catalog.list_subjects, catalog.find_subject_by_name and catalog.upsert_subjects';

CREATE TRIGGER subjects_set_updated_at
BEFORE UPDATE ON subjects
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
