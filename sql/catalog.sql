-- The global catalog: tracks (cycles), grades (6e..Tle), series (streams A, C,
-- D) and subjects. No school owns these rows; every school shares them.
-- Its lists may read a replica (-- replica: ok): the catalog changes by platform
-- imports, not by the user who reads it next.

-- name: list_tracks :many
-- replica: ok
-- returns: Track
-- budget: 10ms
-- explain: seqscan=tracks
-- Every track, by code.
-- Served by a sequential scan: a handful of rows.
SELECT id, name, code, created_at, updated_at
FROM tracks
ORDER BY code, id;

-- name: find_track_by_code :opt
-- returns: Track
-- budget: 10ms
-- explain: seqscan=tracks
-- The track with this code, or None.
-- Served by tracks_code_key (a sequential scan while the catalog is a handful of rows).
SELECT id, name, code, created_at, updated_at
FROM tracks
WHERE code = :code;

-- name: lookup_tracks :many
-- returns: TrackLookup
-- budget: 10ms
-- explain: seqscan=tracks
-- Every track's id, code and name, to preload into a dict.
-- Served by a sequential scan: a handful of rows.
SELECT id, code, name
FROM tracks
ORDER BY code, id;

-- name: upsert_tracks :execrows
-- Insert or update tracks by code, one array per column (columns_of(rows)); a
-- known row keeps its id. Counts only rows inserted or changed.
-- Served by tracks_code_key.
INSERT INTO tracks (id, name, code)
SELECT id, name, code
FROM unnest(:id::text[], :name::text[], :code::text[]) AS t (id, name, code)
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name,
    updated_at = now()
WHERE tracks.name <> EXCLUDED.name;

-- name: list_grades :many
-- replica: ok
-- returns: Grade
-- budget: 10ms
-- explain: seqscan=grades
-- Every grade, from 6e to Tle.
-- Served by a sequential scan: a handful of rows.
SELECT id, track_id, name, code, sort_order, created_at, updated_at
FROM grades
ORDER BY sort_order, id;

-- name: list_track_grades :many
-- replica: ok
-- returns: Grade
-- budget: 10ms
-- explain: seqscan=grades
-- The grades of one track, in order.
-- Served by grades_track_id_sort_order_idx (a sequential scan while the catalog is a
-- handful of rows).
SELECT id, track_id, name, code, sort_order, created_at, updated_at
FROM grades
WHERE track_id = :track_id
ORDER BY sort_order, id;

-- name: find_grade_by_code :opt
-- returns: Grade
-- budget: 10ms
-- explain: seqscan=grades
-- The grade with this code ('6EME'), or None.
-- Served by grades_code_key (a sequential scan while the catalog is a handful of rows).
SELECT id, track_id, name, code, sort_order, created_at, updated_at
FROM grades
WHERE code = :code;

-- name: lookup_grades :many
-- returns: GradeLookup
-- budget: 10ms
-- explain: seqscan=grades
-- Every grade's id, code, name, track and position, to preload into a dict.
-- Served by a sequential scan: a handful of rows.
SELECT id, code, name, track_id, sort_order
FROM grades
ORDER BY sort_order, id;

-- name: upsert_grades :execrows
-- Insert or update grades by code, one array per column (columns_of(rows)); a
-- known row keeps its id. Counts only rows inserted or changed.
-- Served by grades_code_key.
INSERT INTO grades (id, track_id, name, code, sort_order)
SELECT id, track_id, name, code, sort_order
FROM unnest(
    :id::text[], :track_id::text[], :name::text[], :code::text[],
    :sort_order::smallint[]
) AS g (id, track_id, name, code, sort_order)
ON CONFLICT (code) DO UPDATE
SET track_id = EXCLUDED.track_id,
    name = EXCLUDED.name,
    sort_order = EXCLUDED.sort_order,
    updated_at = now()
WHERE (grades.track_id, grades.name, grades.sort_order)
    IS DISTINCT FROM (EXCLUDED.track_id, EXCLUDED.name, EXCLUDED.sort_order);

-- name: list_series :many
-- replica: ok
-- returns: Series
-- budget: 10ms
-- explain: seqscan=series
-- Every series, by code.
-- Served by a sequential scan: a handful of rows.
SELECT id, track_id, name, code, created_at, updated_at
FROM series
ORDER BY code, id;

-- name: list_track_series :many
-- replica: ok
-- returns: Series
-- budget: 10ms
-- explain: seqscan=series
-- The series of one track, by code.
-- Served by series_track_id_idx (a sequential scan while the catalog is a handful of
-- rows).
SELECT id, track_id, name, code, created_at, updated_at
FROM series
WHERE track_id = :track_id
ORDER BY code, id;

-- name: find_series_by_code :opt
-- returns: Series
-- budget: 10ms
-- explain: seqscan=series
-- The series with this code ('D'), or None.
-- Served by series_code_key (a sequential scan while the catalog is a handful of rows).
SELECT id, track_id, name, code, created_at, updated_at
FROM series
WHERE code = :code;

-- name: lookup_series :many
-- returns: SeriesLookup
-- budget: 10ms
-- explain: seqscan=series
-- Every series' id, code and name, to preload into a dict.
-- Served by a sequential scan: a handful of rows.
SELECT id, code, name
FROM series
ORDER BY code, id;

-- name: upsert_series :execrows
-- Insert or update series by code, one array per column (columns_of(rows)); a
-- known row keeps its id. Counts only rows inserted or changed.
-- Served by series_code_key.
INSERT INTO series (id, track_id, name, code)
SELECT id, track_id, name, code
FROM unnest(:id::text[], :track_id::text[], :name::text[], :code::text[])
    AS s (id, track_id, name, code)
ON CONFLICT (code) DO UPDATE
SET track_id = EXCLUDED.track_id,
    name = EXCLUDED.name,
    updated_at = now()
WHERE (series.track_id, series.name)
    IS DISTINCT FROM (EXCLUDED.track_id, EXCLUDED.name);

-- name: list_subjects :many
-- replica: ok
-- returns: Subject
-- budget: 10ms
-- explain: seqscan=subjects
-- Every subject, by name.
-- Served by subjects_name_key (a sequential scan while the catalog is a handful of
-- rows).
SELECT id, name, short_name, category, created_at, updated_at
FROM subjects
ORDER BY name, id;

-- name: find_subject_by_name :opt
-- returns: Subject
-- budget: 10ms
-- explain: seqscan=subjects
-- The subject with this exact name, or None.
-- Served by subjects_name_key (a sequential scan while the catalog is a handful of
-- rows).
SELECT id, name, short_name, category, created_at, updated_at
FROM subjects
WHERE name = :name;

-- name: lookup_subjects :many
-- returns: SubjectLookup
-- budget: 10ms
-- explain: seqscan=subjects
-- Every subject's id, names and category, to preload into a dict.
-- Served by a sequential scan: a few dozen rows.
SELECT id, name, short_name, category
FROM subjects
ORDER BY name, id;

-- name: upsert_subjects :execrows
-- Insert or update subjects by name, one array per column (columns_of(rows)); a
-- known row keeps its id. Counts only rows inserted or changed.
-- Served by subjects_name_key.
INSERT INTO subjects (id, name, short_name, category)
SELECT id, name, short_name, category
FROM unnest(:id::text[], :name::text[], :short_name::text[], :category::text[])
    AS s (id, name, short_name, category)
ON CONFLICT (name) DO UPDATE
SET short_name = EXCLUDED.short_name,
    category = EXCLUDED.category,
    updated_at = now()
WHERE (subjects.short_name, subjects.category)
    IS DISTINCT FROM (EXCLUDED.short_name, EXCLUDED.category);
