-- Coefficients: the weight of each subject in a grade's average, per series
-- (series_id NULL for grades without series), defined per template year.
-- The unique key is NULLS NOT DISTINCT, so a NULL series is one key, and lookups
-- match it with IS NOT DISTINCT FROM.

-- name: find_coefficient :opt
-- returns: CoefficientTemplate
-- budget: 10ms
-- The weight of one subject for a grade and series (None: no series), or None.
-- Served by coefficient_templates_template_grade_series_subject_key: the index
-- condition takes the template, grade and subject; IS NOT DISTINCT FROM is not
-- indexable, so the series is a filter over the few rows left.
SELECT id, school_year_template_id, grade_id, series_id, subject_id, weight,
       created_at, updated_at
FROM coefficient_templates
WHERE school_year_template_id = :school_year_template_id
  AND grade_id = :grade_id
  AND series_id IS NOT DISTINCT FROM :series_id::text
  AND subject_id = :subject_id;

-- name: lookup_coefficients :many
-- returns: SubjectCoefficient
-- budget: 10ms
-- Every subject's weight for a grade and series (None: no series), to preload into
-- a dict before computing averages.
-- Served by coefficient_templates_template_grade_series_subject_key (a sequential scan
-- while the table holds a few hundred rows).
SELECT subject_id, weight
FROM coefficient_templates
WHERE school_year_template_id = :school_year_template_id
  AND grade_id = :grade_id
  AND series_id IS NOT DISTINCT FROM :series_id::text
ORDER BY subject_id, id;

-- name: list_coefficients :many
-- returns: CoefficientSummary
-- budget: 10ms
-- Every coefficient of a template year with grade, series and subject names, by
-- grade, series (none first) and subject: the admin grid.
-- Served by coefficient_templates_template_grade_series_subject_key (a sequential scan
-- while the table holds a few hundred rows).
SELECT ct.id, ct.grade_id, g.name AS grade_name, ct.series_id,
       se.code AS series_code, ct.subject_id, s.name AS subject_name, ct.weight
FROM coefficient_templates AS ct
JOIN grades AS g ON g.id = ct.grade_id
JOIN subjects AS s ON s.id = ct.subject_id
LEFT JOIN series AS se ON se.id = ct.series_id
WHERE ct.school_year_template_id = :school_year_template_id
ORDER BY g.sort_order, se.code NULLS FIRST, s.name, ct.id;

-- name: copy_coefficients :execrows
-- Copy every coefficient of one template year into another in one statement,
-- keeping those the target already has: running it again inserts 0 rows. New ids
-- are made here, 21 URL-safe characters from a random UUID, since one statement
-- cannot take an unknown number of ids from Python.
-- Served by coefficient_templates_template_grade_series_subject_key (read and
-- conflict check).
INSERT INTO coefficient_templates (
    id, school_year_template_id, grade_id, series_id, subject_id, weight
)
SELECT left(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), 21),
       :target_template_id::text, grade_id, series_id, subject_id, weight
FROM coefficient_templates
WHERE school_year_template_id = :source_template_id
ON CONFLICT ON CONSTRAINT coefficient_templates_template_grade_series_subject_key
DO NOTHING;

-- name: upsert_coefficients :execrows
-- Insert or update weights of one template year, one array per column (id,
-- grade_id, series_id, subject_id, weight; a None series: a grade without series;
-- a known key keeps its id). Counts only rows inserted or whose weight changed.
-- Served by coefficient_templates_template_grade_series_subject_key.
INSERT INTO coefficient_templates (
    id, school_year_template_id, grade_id, series_id, subject_id, weight
)
SELECT id, :school_year_template_id, grade_id, series_id, subject_id, weight
FROM unnest(
    :id::text[], :grade_id::text[], :series_id::text[], :subject_id::text[],
    :weight::smallint[]
) AS c (id, grade_id, series_id, subject_id, weight)
ON CONFLICT ON CONSTRAINT coefficient_templates_template_grade_series_subject_key
DO UPDATE
SET weight = EXCLUDED.weight,
    updated_at = now()
WHERE coefficient_templates.weight <> EXCLUDED.weight;

-- name: delete_coefficients :execrows
-- Delete coefficients by id (a subject no longer taught in a grade).
-- Served by coefficient_templates_pkey.
DELETE FROM coefficient_templates
WHERE id = ANY(:ids::text[]);
