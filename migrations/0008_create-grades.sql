-- Create grades, the global catalog of levels from 6e to Tle.
-- depends: 0007_create-tracks

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE grades (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    track_id text NOT NULL REFERENCES tracks (id),
    name text NOT NULL,
    code text NOT NULL,
    sort_order smallint NOT NULL CHECK (sort_order > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grades_code_key UNIQUE (code)
);

COMMENT ON TABLE grades
    IS 'Global catalog of levels (6e, 5e, 4e, 3e, 2nde, 1ere, Tle)';

COMMENT ON COLUMN grades.sort_order
    IS 'Position of the grade, 1 for 6e; named sort_order because ORDER is reserved';

COMMENT ON INDEX grades_code_key
    IS 'serves catalog.find_grade_by_code and catalog.upsert_grades';

CREATE INDEX grades_track_id_sort_order_idx
    ON grades (track_id, sort_order);

COMMENT ON INDEX grades_track_id_sort_order_idx
    IS 'serves catalog.list_track_grades';

CREATE TRIGGER grades_set_updated_at
BEFORE UPDATE ON grades
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
