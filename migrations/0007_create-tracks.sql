-- Create tracks, the global catalog of cycles ('Premier cycle', 'Second cycle').
-- depends: 0006_create-terms

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE tracks (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    name text NOT NULL,
    code text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tracks_code_key UNIQUE (code)
);

COMMENT ON TABLE tracks
    IS 'Global catalog of cycles; grades and series belong to a track';

COMMENT ON INDEX tracks_code_key
    IS 'serves catalog.find_track_by_code and catalog.upsert_tracks';

CREATE TRIGGER tracks_set_updated_at
BEFORE UPDATE ON tracks
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
