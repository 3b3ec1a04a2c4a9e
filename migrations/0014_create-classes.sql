-- Create classes, a school's groups for one grade (and series) in one school year.
-- depends: 0013_create-coefficient-templates

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE classes (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    school_year_id text NOT NULL REFERENCES school_years (id),
    grade_id text NOT NULL REFERENCES grades (id),
    series_id text REFERENCES series (id),
    name text NOT NULL,
    capacity smallint CHECK (capacity > 0),
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'archived')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT classes_school_year_id_name_key UNIQUE (school_year_id, name)
);

COMMENT ON TABLE classes
    IS 'A school''s class (6e A, Tle D2) in one school year';

COMMENT ON INDEX classes_school_year_id_name_key
    IS 'serves classes.find_class_by_name, classes.list_school_classes, classes.lookup_classes and classes.upsert_classes';

CREATE INDEX classes_school_id_school_year_id_idx
    ON classes (school_id, school_year_id);

COMMENT ON INDEX classes_school_id_school_year_id_idx
    IS 'serves the school foreign key (classes_school_id_fkey); a year implies its school, so classes_school_year_id_name_key serves the lists of a year';

CREATE INDEX classes_grade_id_idx
    ON classes (grade_id);

COMMENT ON INDEX classes_grade_id_idx
    IS 'serves the grade foreign key (classes_grade_id_fkey) on grade deletes';

CREATE INDEX classes_series_id_idx
    ON classes (series_id);

COMMENT ON INDEX classes_series_id_idx
    IS 'serves the series foreign key (classes_series_id_fkey) on series deletes';

CREATE TRIGGER classes_set_updated_at
BEFORE UPDATE ON classes
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
