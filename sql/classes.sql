-- Classes: a school's groups (6e A, Tle D2) for one grade, and a series from the
-- 2nde on, in one school year. Names are unique within a year.

-- name: create_class :one
-- returns: SchoolClass
-- Create one class from a SchoolClassInsert. A school year that is not the
-- school's raises NoRowError; a name taken in that year raises UniqueViolation.
-- Served by school_years_pkey and classes_school_year_id_name_key (uniqueness).
INSERT INTO classes (id, school_id, school_year_id, grade_id, series_id, name, capacity)
SELECT :id::text, y.school_id, y.id, :grade_id::text, :series_id::text, :name::text,
       :capacity::smallint
FROM school_years AS y
WHERE y.id = :school_year_id
  AND y.school_id = :school_id
RETURNING id, school_id, school_year_id, grade_id, series_id, name, capacity, status,
          created_at, updated_at;

-- name: get_class :one
-- returns: SchoolClass
-- budget: 10ms
-- One class of a school.
-- Served by classes_pkey.
SELECT id, school_id, school_year_id, grade_id, series_id, name, capacity, status,
       created_at, updated_at
FROM classes
WHERE id = :id
  AND school_id = :school_id;

-- name: find_class_by_name :opt
-- returns: SchoolClass
-- budget: 10ms
-- The class with this name in one school year, or None.
-- Served by classes_school_year_id_name_key.
SELECT id, school_id, school_year_id, grade_id, series_id, name, capacity, status,
       created_at, updated_at
FROM classes
WHERE school_year_id = :school_year_id
  AND name = :name
  AND school_id = :school_id;

-- name: list_school_classes :many
-- returns: ClassOverview
-- budget: 10ms
-- The classes of a school year by grade and name, with grade and series names and
-- how many students are confirmed in each; :status (None: all) narrows the list.
-- Served by classes_school_year_id_name_key, and enrollments_class_id_status_idx for
-- the head counts (ANDed with a per-school index: enrollments.school_id, which the
-- tenant lint asks to name, is not in it).
SELECT c.id, c.name, c.grade_id, g.name AS grade_name, c.series_id,
       se.code AS series_code, c.capacity, c.status, e.confirmed_count
FROM classes AS c
JOIN grades AS g ON g.id = c.grade_id
LEFT JOIN series AS se ON se.id = c.series_id
CROSS JOIN LATERAL (
    SELECT count(*) AS confirmed_count
    FROM enrollments
    WHERE class_id = c.id
      AND status = 'confirmed'
      AND school_id = :school_id
) AS e
WHERE c.school_id = :school_id
  AND c.school_year_id = :school_year_id
  [[ AND c.status = :status ]]
ORDER BY g.sort_order, c.name, c.id;

-- name: lookup_classes :many
-- returns: ClassLookup
-- budget: 10ms
-- Every class of a school year (archived ones too), to preload into a dict by id.
-- Served by classes_school_year_id_name_key (the year implies the school).
SELECT id, name, grade_id, series_id, capacity, status
FROM classes
WHERE school_id = :school_id
  AND school_year_id = :school_year_id
ORDER BY name, id;

-- name: update_class_capacity :execrows
-- Set a class's capacity (None: no limit).
-- Served by classes_pkey.
UPDATE classes
SET capacity = :capacity
WHERE id = :id
  AND school_id = :school_id;

-- name: update_class_name :execrows
-- Rename a class; a name taken in its year raises UniqueViolation.
-- Served by classes_pkey.
UPDATE classes
SET name = :name
WHERE id = :id
  AND school_id = :school_id;

-- name: archive_classes :execrows
-- Archive classes of a school (kept for history, hidden from day-to-day lists);
-- counts those that were active.
-- Served by classes_pkey.
UPDATE classes
SET status = 'archived',
    updated_at = now()
WHERE id = ANY(:ids::text[])
  AND school_id = :school_id
  AND status = 'active';

-- name: upsert_classes :execrows
-- Insert or update the classes of one school year by name, one array per column:
-- columns_of(inserts, fields=[...]). A known name keeps its id; a None series: no
-- series. Nothing is written when the year is not the school's. Counts only
-- classes inserted or changed.
-- Served by school_years_pkey and classes_school_year_id_name_key.
INSERT INTO classes (id, school_id, school_year_id, grade_id, series_id, name, capacity)
SELECT c.id, y.school_id, y.id, c.grade_id, c.series_id, c.name, c.capacity
FROM school_years AS y
CROSS JOIN unnest(
    :id::text[], :grade_id::text[], :series_id::text[], :name::text[],
    :capacity::smallint[]
) AS c (id, grade_id, series_id, name, capacity)
WHERE y.id = :school_year_id
  AND y.school_id = :school_id
ON CONFLICT ON CONSTRAINT classes_school_year_id_name_key DO UPDATE
SET grade_id = EXCLUDED.grade_id,
    series_id = EXCLUDED.series_id,
    capacity = EXCLUDED.capacity,
    updated_at = now()
WHERE classes.school_id = EXCLUDED.school_id
  AND (classes.grade_id, classes.series_id, classes.capacity)
    IS DISTINCT FROM (EXCLUDED.grade_id, EXCLUDED.series_id, EXCLUDED.capacity);

-- name: copy_classes :execrows
-- Copy a school's active classes of one year into another of its years (the
-- rollover), keeping classes the target already has by name: running it again
-- inserts 0 rows. New ids are made here, 21 URL-safe characters from a random
-- UUID, since one statement cannot take an unknown number of ids from Python.
-- Served by school_years_pkey and classes_school_year_id_name_key (read and conflict
-- check).
INSERT INTO classes (id, school_id, school_year_id, grade_id, series_id, name, capacity)
SELECT left(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), 21),
       c.school_id, y.id, c.grade_id, c.series_id, c.name, c.capacity
FROM classes AS c
JOIN school_years AS y ON y.id = :target_school_year_id AND y.school_id = c.school_id
WHERE c.school_id = :school_id
  AND c.school_year_id = :source_school_year_id
  AND c.status = 'active'
ON CONFLICT ON CONSTRAINT classes_school_year_id_name_key DO NOTHING;
