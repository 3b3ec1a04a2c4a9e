-- School years and terms: a school copies a global template year, runs it
-- (one active year per school), closes it; terms divide it into trimesters.

-- name: list_school_year_templates :many
-- returns: SchoolYearTemplate
-- budget: 10ms
-- explain: seqscan=school_year_templates
-- The global template years, newest first (what a school can start a year from).
-- Served by a sequential scan: one row per calendar year.
SELECT id, name, starts_on, ends_on, is_active, created_at, updated_at
FROM school_year_templates
ORDER BY starts_on DESC, id;

-- name: find_school_year_template_by_name :opt
-- returns: SchoolYearTemplate
-- budget: 10ms
-- explain: seqscan=school_year_templates
-- The template year with this name ('2025-2026'), or None.
-- Served by school_year_templates_name_key (a sequential scan while there are a handful
-- of template years).
SELECT id, name, starts_on, ends_on, is_active, created_at, updated_at
FROM school_year_templates
WHERE name = :name;

-- name: count_template_school_years :scalar
-- tenant: any: the platform counts how many schools adopted a template
-- role: yeko_platform
-- budget: 10ms
-- How many schools have a year made from this template.
-- Served by school_years_school_year_template_id_idx.
SELECT count(*)
FROM school_years
WHERE school_year_template_id = :school_year_template_id;

-- name: create_school_year :one
-- returns: SchoolYear
-- Create a school's draft year from a template, copying its name and dates.
-- An unknown template raises NoRowError; a second year from the same template
-- raises UniqueViolation.
-- Served by school_year_templates_pkey and
-- school_years_school_id_school_year_template_id_key (uniqueness check).
INSERT INTO school_years (
    id, school_id, school_year_template_id, name, starts_on, ends_on
)
SELECT :id, :school_id, t.id, t.name, t.starts_on, t.ends_on
FROM school_year_templates AS t
WHERE t.id = :school_year_template_id
RETURNING id, school_id, school_year_template_id, name, starts_on, ends_on, status,
          created_at, updated_at;

-- name: get_school_year :one
-- returns: SchoolYear
-- budget: 10ms
-- One year of a school.
-- Served by school_years_id_school_id_key.
SELECT id, school_id, school_year_template_id, name, starts_on, ends_on, status,
       created_at, updated_at
FROM school_years
WHERE id = :id
  AND school_id = :school_id;

-- name: get_active_school_year :opt
-- returns: SchoolYear
-- budget: 10ms
-- A school's active year, or None between years.
-- Served by school_years_school_id_where_active_key.
SELECT id, school_id, school_year_template_id, name, starts_on, ends_on, status,
       created_at, updated_at
FROM school_years
WHERE school_id = :school_id
  AND status = 'active';

-- name: list_school_years :many
-- returns: SchoolYear
-- budget: 10ms
-- A school's years, newest first.
-- Served by school_years_school_id_school_year_template_id_key.
SELECT id, school_id, school_year_template_id, name, starts_on, ends_on, status,
       created_at, updated_at
FROM school_years
WHERE school_id = :school_id
ORDER BY starts_on DESC, id;

-- name: close_active_school_year :execrows
-- Close a school's active year, whichever it is (0 when none is active). To switch
-- years, run it and activate_school_year in one transaction: the unique index
-- school_years_school_id_where_active_key is checked row by row, so a single
-- UPDATE of both rows fails whenever it reaches the new year first.
-- Served by school_years_school_id_where_active_key.
UPDATE school_years
SET status = 'closed'
WHERE school_id = :school_id
  AND status = 'active';

-- name: activate_school_year :one
-- returns: SchoolYear
-- Make one year of a school its active year. Raises UniqueViolation while another
-- year is active (close it first, in the same transaction) and NoRowError for an
-- unknown year, which rolls that transaction back.
-- Served by school_years_pkey.
UPDATE school_years
SET status = 'active'
WHERE id = :id
  AND school_id = :school_id
RETURNING id, school_id, school_year_template_id, name, starts_on, ends_on, status,
          created_at, updated_at;

-- name: close_school_year :execrows
-- Close one active year of a school (the end of the year); 0 unless it was active.
-- Served by school_years_pkey.
UPDATE school_years
SET status = 'closed'
WHERE id = :id
  AND school_id = :school_id
  AND status = 'active';

-- name: list_school_year_terms :many
-- returns: Term
-- budget: 10ms
-- The terms of one school year, in order.
-- Served by terms_school_year_id_sort_order_key.
SELECT id, school_id, school_year_id, name, sort_order, starts_on, ends_on,
       created_at, updated_at
FROM terms
WHERE school_year_id = :school_year_id
  AND school_id = :school_id
ORDER BY sort_order, id;

-- name: get_term :one
-- returns: Term
-- budget: 10ms
-- One term of a school.
-- Served by terms_id_school_id_key.
SELECT id, school_id, school_year_id, name, sort_order, starts_on, ends_on,
       created_at, updated_at
FROM terms
WHERE id = :id
  AND school_id = :school_id;

-- name: find_current_term :opt
-- returns: Term
-- budget: 10ms
-- The school's term that contains :on_date (today, usually), or None in holidays.
-- Served by terms_school_id_starts_on_idx.
SELECT id, school_id, school_year_id, name, sort_order, starts_on, ends_on,
       created_at, updated_at
FROM terms
WHERE school_id = :school_id
  AND starts_on <= :on_date::date
  AND ends_on >= :on_date::date
ORDER BY starts_on DESC, id
LIMIT 1;

-- name: upsert_terms :execrows
-- Insert or update the terms of one school year by sort_order, with one array
-- per column (columns_of(TermInsert rows)). A known term keeps its id. Nothing is
-- written when the year is not the school's. Counts only terms inserted or changed.
-- Served by school_years_pkey and terms_school_year_id_sort_order_key.
INSERT INTO terms (id, school_id, school_year_id, name, sort_order, starts_on, ends_on)
SELECT t.id, y.school_id, y.id, t.name, t.sort_order, t.starts_on, t.ends_on
FROM school_years AS y
CROSS JOIN unnest(
    :id::text[], :name::text[], :sort_order::smallint[],
    :starts_on::date[], :ends_on::date[]
) AS t (id, name, sort_order, starts_on, ends_on)
WHERE y.id = :school_year_id
  AND y.school_id = :school_id
ON CONFLICT ON CONSTRAINT terms_school_year_id_sort_order_key DO UPDATE
SET name = EXCLUDED.name,
    starts_on = EXCLUDED.starts_on,
    ends_on = EXCLUDED.ends_on,
    updated_at = now()
WHERE terms.school_id = EXCLUDED.school_id
  AND (terms.name, terms.starts_on, terms.ends_on)
    IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.starts_on, EXCLUDED.ends_on);
