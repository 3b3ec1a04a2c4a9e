-- Students: a school's pupils, identified by a matricule unique within the school.

-- name: create_student :one
-- returns: Student
-- Create one student from a StudentInsert; a taken matricule raises UniqueViolation.
-- Served by students_pkey and students_school_id_matricule_key (uniqueness checks).
INSERT INTO students (id, school_id, matricule, first_name, last_name, birth_date,
                      gender, status)
VALUES (:id, :school_id, :matricule, :first_name, :last_name, :birth_date,
        :gender, :status)
RETURNING id, school_id, matricule, first_name, last_name, full_name, birth_date,
          gender, status, created_at, updated_at;

-- name: upsert_students :execrows
-- Insert or update a school's students by matricule, one statement for the batch:
-- one array per StudentInsert field but school_id, columns_of(inserts,
-- fields=[...]). A new student takes its status; an existing matricule keeps its
-- id and status and takes the new names, birth date and gender. Rows that would
-- not change are not rewritten, so the count is of rows inserted or changed.
-- Served by students_school_id_matricule_key.
INSERT INTO students (id, school_id, matricule, first_name, last_name, birth_date,
                      gender, status)
SELECT u.id, :school_id, u.matricule, u.first_name, u.last_name, u.birth_date,
       u.gender, u.status
FROM unnest(:id::text[], :matricule::text[], :first_name::text[],
            :last_name::text[], :birth_date::date[], :gender::text[],
            :status::text[])
    AS u (id, matricule, first_name, last_name, birth_date, gender, status)
ON CONFLICT (school_id, matricule) DO UPDATE
SET first_name = excluded.first_name,
    last_name = excluded.last_name,
    birth_date = excluded.birth_date,
    gender = excluded.gender,
    updated_at = now()
WHERE (students.first_name, students.last_name, students.birth_date, students.gender)
    IS DISTINCT FROM
    (excluded.first_name, excluded.last_name, excluded.birth_date, excluded.gender);

-- name: get_student :one
-- returns: Student
-- budget: 10ms
-- One student of the school by id.
-- Served by students_id_school_id_key.
SELECT id, school_id, matricule, first_name, last_name, full_name, birth_date,
       gender, status, created_at, updated_at
FROM students
WHERE id = :id
  AND school_id = :school_id;

-- name: find_student_by_matricule :opt
-- returns: Student
-- budget: 10ms
-- The school's student with this matricule (exact match), or None.
-- Served by students_school_id_matricule_key.
SELECT id, school_id, matricule, first_name, last_name, full_name, birth_date,
       gender, status, created_at, updated_at
FROM students
WHERE school_id = :school_id
  AND matricule = :matricule;

-- name: list_students :page
-- returns: StudentSummary
-- sort: name = full_name, id | newest = created_at DESC, id DESC | matricule = matricule, id
-- budget: 10ms
-- A school's students, by name unless :sort says 'newest' (latest added first)
-- or 'matricule': :search (None: all) is a case-insensitive prefix of the full
-- name (last name first) or the exact matricule; :status None: any.
-- Served by students_school_id_full_name_id_idx (walked in order; the prefix and
-- status are filters on it, not index bounds); the other orders sort the
-- school's few hundred rows.
SELECT id, matricule, full_name, gender, birth_date, status,
       count(*) OVER () AS total_count
FROM students
WHERE school_id = :school_id
  [[ AND status = :status ]]
  [[ AND (
      starts_with(lower(full_name), lower(:search))
      OR matricule = :search
  ) ]]
ORDER BY :sort
LIMIT :limit OFFSET :offset;

-- name: lookup_students :many
-- returns: StudentRef
-- budget: 10ms
-- The school's students with these matricules, to preload into a dict for imports.
-- Served by students_school_id_matricule_key.
SELECT id, matricule, full_name, status
FROM students
WHERE school_id = :school_id
  AND matricule = ANY(:matricules::text[])
ORDER BY matricule, id;

-- name: get_student_profile :one
-- returns: StudentProfile
-- budget: 10ms
-- A student with the current enrollment of the school's active year: the confirmed
-- one, else the latest pending one; the enrollment columns are None without one.
-- Served by students_id_school_id_key, school_years_school_id_where_active_key and
-- enrollments_student_id_school_year_id_idx.
SELECT s.id, s.school_id, s.matricule, s.full_name, s.birth_date, s.gender,
       s.status, cur.school_year_id, cur.enrollment_id, cur.enrollment_status,
       cur.class_id, cur.class_name, cur.grade_code, cur.grade_name,
       cur.series_code
FROM students AS s
LEFT JOIN LATERAL (
    SELECT e.school_year_id, e.id AS enrollment_id, e.status AS enrollment_status,
           c.id AS class_id, c.name AS class_name, g.code AS grade_code,
           g.name AS grade_name, sr.code AS series_code
    FROM school_years AS y
    JOIN enrollments AS e ON e.school_year_id = y.id
    JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id
    JOIN grades AS g ON g.id = c.grade_id
    LEFT JOIN series AS sr ON sr.id = c.series_id
    WHERE y.school_id = :school_id
      AND y.status = 'active'
      AND e.student_id = s.id
      AND e.school_id = :school_id
      AND e.status IN ('confirmed', 'pending')
    ORDER BY e.status = 'confirmed' DESC, e.enrolled_at DESC, e.id
    LIMIT 1
) AS cur ON true
WHERE s.id = :id
  AND s.school_id = :school_id;

-- name: update_student_status :execrows
-- Set the status of the school's students with these ids; returns how many changed.
-- Served by students_pkey.
UPDATE students
SET status = :status,
    updated_at = now()
WHERE id = ANY(:ids)
  AND school_id = :school_id
  AND status <> :status;

-- name: withdraw_students :execrows
-- Withdraw active students: their status becomes 'withdrawn' and their pending or
-- confirmed enrollments of the active year are cancelled, in one statement.
-- Returns how many students were withdrawn.
-- Served by students_pkey, school_years_school_id_where_active_key and
-- enrollments_school_id_school_year_id_status_idx.
WITH cancelled AS (
    UPDATE enrollments AS e
    SET status = 'cancelled',
        cancelled_at = now(),
        updated_at = now()
    FROM students AS s, school_years AS y
    WHERE s.id = ANY(:ids)
      AND s.school_id = :school_id
      AND s.status = 'active'
      AND y.school_id = :school_id
      AND y.status = 'active'
      AND e.student_id = s.id
      AND e.school_year_id = y.id
      AND e.school_id = :school_id
      AND e.status IN ('pending', 'confirmed')
    RETURNING e.id
)
UPDATE students
SET status = 'withdrawn',
    updated_at = now()
WHERE id = ANY(:ids)
  AND school_id = :school_id
  AND status = 'active';
