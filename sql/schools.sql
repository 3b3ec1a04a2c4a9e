-- Schools: the tenants of Yeko. Every school-owned row points here, so these
-- queries filter by the school's own id, passed as :school_id.

-- name: create_school :one
-- returns: School
-- tenant: any: schools is the tenant table and this row is a new tenant
-- role: yeko_platform
-- Create one school from a SchoolInsert; a taken code raises UniqueViolation.
-- Served by schools_pkey and schools_code_key (uniqueness checks).
INSERT INTO schools (id, name, code, status, city, address, phone, email, settings)
VALUES (:id, :name, :code, :status, :city, :address, :phone, :email, :settings::jsonb)
RETURNING id, name, code, status, city, address, phone, email, settings,
          created_at, updated_at;

-- name: get_school :one
-- returns: School
-- budget: 10ms
-- One school by its id.
-- Served by schools_pkey.
SELECT id, name, code, status, city, address, phone, email, settings,
       created_at, updated_at
FROM schools
WHERE id = :school_id;

-- name: find_school_by_code :opt
-- returns: School
-- tenant: any: the code is how a school is found before its id is known
-- role: yeko_platform
-- budget: 10ms
-- The school with this code (exact match), or None.
-- Served by schools_code_key.
SELECT id, name, code, status, city, address, phone, email, settings,
       created_at, updated_at
FROM schools
WHERE code = :code;

-- name: list_schools :page
-- returns: SchoolSummary
-- tenant: any: the platform admin's list spans every school
-- role: yeko_platform
-- sort: newest = created_at DESC, id DESC | name = name, id | code = code, id
-- budget: 10ms
-- Schools of one status whose name or code contains :search (None: all), newest
-- first unless :sort says 'name' or 'code'. :search is text, not a pattern: its
-- '%', '_' and '\' are escaped, so they match only themselves.
-- Served by schools_status_created_at_id_idx (walked in order for 'newest'; the
-- other orders sort the status's rows, a few thousand at most).
SELECT id, name, code, status, city, created_at,
       count(*) OVER () AS total_count
FROM schools
WHERE status = :status
  AND (
      :search::text IS NULL
      OR name ILIKE '%' || replace(
          replace(replace(:search, '\', '\\'), '%', '\%'), '_', '\_'
      ) || '%' ESCAPE '\'
      OR code ILIKE '%' || replace(
          replace(replace(:search, '\', '\\'), '%', '\%'), '_', '\_'
      ) || '%' ESCAPE '\'
  )
ORDER BY :sort
LIMIT :limit OFFSET :offset;

-- name: list_school_status_counts :many
-- returns: SchoolStatusCount
-- tenant: any: the platform admin's dashboard counts every school
-- role: yeko_platform
-- budget: 10ms
-- How many schools have each status (statuses with no school are left out).
-- Served by a sequential scan of schools (one row per school), or
-- schools_status_created_at_id_idx as an index-only scan once the table is large and
-- vacuumed.
SELECT status, count(*) AS total
FROM schools
GROUP BY status
ORDER BY status;

-- name: update_school :one
-- returns: School
-- Replace a school's name and contact fields; returns the updated row.
-- Served by schools_pkey.
UPDATE schools
SET name = :name,
    city = :city,
    address = :address,
    phone = :phone,
    email = :email
WHERE id = :school_id
RETURNING id, name, code, status, city, address, phone, email, settings,
          created_at, updated_at;

-- name: update_school_status :execrows
-- Set a school's status (active, suspended, archived); 0 when it already has it.
-- Served by schools_pkey.
UPDATE schools
SET status = :status
WHERE id = :school_id
  AND status <> :status;

-- name: archive_school :execrows
-- Archive a school: kept for history, hidden from day-to-day lists.
-- Served by schools_pkey.
UPDATE schools
SET status = 'archived'
WHERE id = :school_id
  AND status <> 'archived';

-- name: get_school_settings :one
-- returns: SchoolSettings
-- budget: 10ms
-- A school's settings object.
-- Served by schools_pkey.
SELECT id, settings
FROM schools
WHERE id = :school_id;

-- name: update_school_settings :one
-- returns: SchoolSettings
-- Merge :settings into a school's settings (top-level keys replace, others stay);
-- returns the merged object.
-- Served by schools_pkey.
UPDATE schools
SET settings = settings || :settings::jsonb
WHERE id = :school_id
RETURNING id, settings;

-- name: upsert_schools :execrows
-- tenant: any: a platform import writes many schools at once
-- role: yeko_platform
-- Insert or update schools by code (an import), one array per column:
-- columns_of(inserts, fields=[...]). Status and settings of existing schools are
-- kept, and so is their id. Counts only rows inserted or changed.
-- Served by schools_code_key.
INSERT INTO schools (id, name, code, city, address, phone, email)
SELECT id, name, code, city, address, phone, email
FROM unnest(
    :id::text[], :name::text[], :code::text[], :city::text[],
    :address::text[], :phone::text[], :email::text[]
) AS s (id, name, code, city, address, phone, email)
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name,
    city = EXCLUDED.city,
    address = EXCLUDED.address,
    phone = EXCLUDED.phone,
    email = EXCLUDED.email,
    updated_at = now()
WHERE (schools.name, schools.city, schools.address, schools.phone, schools.email)
    IS DISTINCT FROM
    (EXCLUDED.name, EXCLUDED.city, EXCLUDED.address, EXCLUDED.phone, EXCLUDED.email);
