-- Create series, the global catalog of second-cycle streams (A, C, D).
-- depends: 0008_create-grades

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE series (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    track_id text NOT NULL REFERENCES tracks (id),
    name text NOT NULL,
    code text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT series_code_key UNIQUE (code)
);

COMMENT ON TABLE series
    IS 'Global catalog of streams of the second cycle (A, C, D)';

COMMENT ON INDEX series_code_key
    IS 'serves catalog.find_series_by_code and catalog.upsert_series';

CREATE INDEX series_track_id_idx
    ON series (track_id);

COMMENT ON INDEX series_track_id_idx
    IS 'serves catalog.list_track_series';

CREATE TRIGGER series_set_updated_at
BEFORE UPDATE ON series
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
