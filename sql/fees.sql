-- Fee structures: what a school charges, one named fee per grade and school year.
-- What a student owes for a year is the sum of the fees of the grade of the class
-- it is confirmed in that year.

-- name: create_fee_structure :one
-- returns: FeeStructure
-- Create one fee from a FeeStructureInsert. No row (NoRowError) when the school
-- year is not the school's; a fee name taken for the grade and year raises
-- UniqueViolation.
-- Served by school_years_pkey and fee_structures_school_year_id_grade_id_name_key.
INSERT INTO fee_structures (id, school_id, school_year_id, grade_id, name, fee_type,
                            amount, currency, due_on)
SELECT :id::text, y.school_id, y.id, :grade_id::text, :name::text, :fee_type::text,
       :amount::numeric, :currency::text, :due_on::date
FROM school_years AS y
WHERE y.id = :school_year_id
  AND y.school_id = :school_id
RETURNING id, school_id, school_year_id, grade_id, name, fee_type, amount, currency,
          due_on, created_at, updated_at;

-- name: upsert_fee_structures :execrows
-- Insert or update a year's fees by (grade, name) in one statement: one array per
-- FeeStructureInsert field but school_id and school_year_id, columns_of(inserts,
-- fields=[...]). Nothing is written when the year is not the school's, and
-- unchanged fees are not rewritten, so the count is of fees inserted or changed.
-- Served by school_years_pkey and fee_structures_school_year_id_grade_id_name_key.
INSERT INTO fee_structures (id, school_id, school_year_id, grade_id, name, fee_type,
                            amount, currency, due_on)
SELECT u.id, y.school_id, y.id, u.grade_id, u.name, u.fee_type, u.amount, u.currency,
       u.due_on
FROM school_years AS y
CROSS JOIN unnest(:id::text[], :grade_id::text[], :name::text[],
                  :fee_type::text[], :amount::numeric[], :currency::text[],
                  :due_on::date[])
    AS u (id, grade_id, name, fee_type, amount, currency, due_on)
WHERE y.id = :school_year_id
  AND y.school_id = :school_id
ON CONFLICT (school_year_id, grade_id, name) DO UPDATE
SET fee_type = excluded.fee_type,
    amount = excluded.amount,
    currency = excluded.currency,
    due_on = excluded.due_on,
    updated_at = now()
WHERE fee_structures.school_id = excluded.school_id
  AND (fee_structures.fee_type, fee_structures.amount, fee_structures.currency,
       fee_structures.due_on)
    IS DISTINCT FROM
    (excluded.fee_type, excluded.amount, excluded.currency, excluded.due_on);

-- name: get_fee_structure :one
-- returns: FeeStructure
-- budget: 10ms
-- One fee of the school by id.
-- Served by fee_structures_pkey.
SELECT id, school_id, school_year_id, grade_id, name, fee_type, amount, currency,
       due_on, created_at, updated_at
FROM fee_structures
WHERE id = :id
  AND school_id = :school_id;

-- name: list_fee_structures :many
-- returns: FeeStructureLine
-- budget: 10ms
-- A school year's fee schedule, grade by grade, for one grade (None: all).
-- Served by fee_structures_school_year_id_grade_id_name_key.
SELECT f.id, f.grade_id, g.code AS grade_code, g.name AS grade_name, f.name,
       f.fee_type, f.amount, f.currency, f.due_on
FROM fee_structures AS f
JOIN grades AS g ON g.id = f.grade_id
WHERE f.school_id = :school_id
  AND f.school_year_id = :school_year_id
  [[ AND f.grade_id = :grade_id ]]
ORDER BY g.sort_order, f.name, f.id;

-- name: lookup_fee_structures :many
-- returns: FeeStructureRef
-- budget: 10ms
-- A school year's fees, to preload into a dict by id or by (grade, name).
-- Served by fee_structures_school_id_school_year_id_idx.
SELECT id, grade_id, name, fee_type, amount
FROM fee_structures
WHERE school_id = :school_id
  AND school_year_id = :school_year_id
ORDER BY grade_id, name, id;

-- name: get_student_expected_fees :one
-- returns: StudentExpectedFees
-- notnull: school_year_id
-- budget: 10ms
-- What a student of the school owes for a year: the fees of the grade of its
-- confirmed class (0 without one). NoRowError for an unknown student.
-- Served by students_id_school_id_key,
-- enrollments_student_id_school_year_id_where_confirmed_key,
-- classes_pkey and fee_structures_school_year_id_grade_id_name_key.
SELECT s.id AS student_id, :school_year_id::text AS school_year_id, cur.class_id,
       cur.grade_id, due.fee_count, coalesce(due.expected, 0) AS expected
FROM students AS s
LEFT JOIN LATERAL (
    SELECT c.id AS class_id, c.grade_id
    FROM enrollments AS e
    JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id
    WHERE e.student_id = s.id
      AND e.school_year_id = :school_year_id
      AND e.school_id = :school_id
      AND e.status = 'confirmed'
) AS cur ON true
CROSS JOIN LATERAL (
    SELECT count(*) AS fee_count, sum(f.amount) AS expected
    FROM fee_structures AS f
    WHERE f.school_year_id = :school_year_id
      AND f.grade_id = cur.grade_id
      AND f.school_id = :school_id
) AS due
WHERE s.id = :student_id
  AND s.school_id = :school_id;
