-- Benchmark queries over Yeko's real enrollments table (loaded with the bundled
-- queries, so calls read db.bench.<query>). Every peer runs this same SQL text.

-- name: list_enrollments :many
-- returns: Enrollment
-- The school's first :limit enrollments by id: the fetch workload.
-- Served by enrollments_pkey.
SELECT id, school_id, student_id, class_id, school_year_id, status, enrolled_at,
       confirmed_at, cancelled_at, created_at, updated_at
FROM enrollments
WHERE school_id = :school_id
ORDER BY id
LIMIT :limit;

-- name: stream_enrollments :stream
-- returns: Enrollment
-- Every enrollment of the school by id, 1,000 rows per round trip.
-- Served by enrollments_pkey.
SELECT id, school_id, student_id, class_id, school_year_id, status, enrolled_at,
       confirmed_at, cancelled_at, created_at, updated_at
FROM enrollments
WHERE school_id = :school_id
ORDER BY id;

-- name: list_enrollments_after :keyset
-- returns: EnrollmentListing
-- One seek page of the school's enrollments by id, after :after_id (None: the
-- start), with the student's and the class's names.
-- Served by enrollments_pkey, students_pkey and classes_pkey.
SELECT e.id, e.student_id, s.matricule, s.full_name, e.class_id, c.name AS class_name,
       e.school_year_id, e.status, e.enrolled_at
FROM enrollments AS e
JOIN students AS s ON s.id = e.student_id
JOIN classes AS c ON c.id = e.class_id
WHERE e.school_id = :school_id
  AND e.id > coalesce(:after_id::text, '')
ORDER BY e.id
LIMIT :limit;

-- name: list_enrollments_at :many
-- returns: EnrollmentListing
-- The same list paged with OFFSET: the server walks every skipped row.
-- Served by enrollments_pkey, students_pkey and classes_pkey.
SELECT e.id, e.student_id, s.matricule, s.full_name, e.class_id, c.name AS class_name,
       e.school_year_id, e.status, e.enrolled_at
FROM enrollments AS e
JOIN students AS s ON s.id = e.student_id
JOIN classes AS c ON c.id = e.class_id
WHERE e.school_id = :school_id
ORDER BY e.id
LIMIT :limit OFFSET :offset;

-- name: find_enrollment :opt
-- returns: Enrollment
-- One enrollment by id, of one status when given: what an optional filter costs a
-- call (choosing its statement) next to get_enrollment.
-- Served by enrollments_pkey.
SELECT id, school_id, student_id, class_id, school_year_id, status, enrolled_at,
       confirmed_at, cancelled_at, created_at, updated_at
FROM enrollments
WHERE id = :id
  AND school_id = :school_id
  [[ AND status = :status ]];

-- name: touch_student :execrows
-- A write to read back: one student's updated_at, by primary key.
-- Served by students_pkey.
UPDATE students
SET updated_at = :at
WHERE id = :id
  AND school_id = :school_id;

-- name: get_student_touched :scalar
-- replica: ok
-- Reads the write back, on the replica when the Database has one.
-- Served by students_pkey.
SELECT updated_at
FROM students
WHERE id = :id
  AND school_id = :school_id;
