-- Enrollments: a student's place in one class for one school year. A large table
-- (about a million rows at scale): school-wide lists are keyset-paged, with the
-- total from a separate count. The school year of an enrollment is always its
-- class's, and writes only link a class and a student of :school_id.

-- name: create_enrollment :one
-- returns: Enrollment
-- Enroll one student in a class of the same school (an EnrollmentInsert); the
-- school year is the class's. No row (NoRowError) when the class or the student is
-- not the school's; a second confirmed one for the year raises UniqueViolation.
-- Served by classes_pkey, students_pkey and
-- enrollments_student_id_school_year_id_where_confirmed_key (uniqueness check).
INSERT INTO enrollments (id, school_id, student_id, class_id, school_year_id,
                         status, confirmed_at, cancelled_at)
SELECT :id::text, c.school_id, s.id, c.id, c.school_year_id, :status::text,
       CASE WHEN :status = 'confirmed' THEN now() END,
       CASE WHEN :status = 'cancelled' THEN now() END
FROM classes AS c
JOIN students AS s ON s.id = :student_id
WHERE c.id = :class_id
  AND c.school_id = :school_id
  AND s.school_id = :school_id
RETURNING id, school_id, student_id, class_id, school_year_id, status, enrolled_at,
          confirmed_at, cancelled_at, created_at, updated_at;

-- name: insert_enrollments :execrows
-- Enroll many students in one statement: one array per EnrollmentInsert field but
-- school_id, columns_of(inserts, fields=[...]). Pairs whose class or student is
-- not the school's are skipped, as are ids already there (a retried batch inserts
-- nothing); returns how many were added.
-- Served by classes_pkey, students_pkey and enrollments_pkey (conflict check).
INSERT INTO enrollments (id, school_id, student_id, class_id, school_year_id,
                         status, confirmed_at, cancelled_at)
SELECT u.id, c.school_id, s.id, c.id, c.school_year_id, u.status,
       CASE WHEN u.status = 'confirmed' THEN now() END,
       CASE WHEN u.status = 'cancelled' THEN now() END
FROM unnest(:id::text[], :student_id::text[], :class_id::text[], :status::text[])
    AS u (id, student_id, class_id, status)
JOIN classes AS c ON c.id = u.class_id
JOIN students AS s ON s.id = u.student_id
WHERE c.school_id = :school_id
  AND s.school_id = :school_id
ON CONFLICT (id) DO NOTHING;

-- name: get_enrollment :one
-- returns: Enrollment
-- budget: 10ms
-- One enrollment of the school by id.
-- Served by enrollments_pkey.
SELECT id, school_id, student_id, class_id, school_year_id, status, enrolled_at,
       confirmed_at, cancelled_at, created_at, updated_at
FROM enrollments
WHERE id = :id
  AND school_id = :school_id;

-- name: confirm_enrollments :execrows
-- Confirm pending enrollments in one statement; returns how many changed. A student
-- already confirmed for the year raises UniqueViolation and confirms nothing.
-- Served by enrollments_pkey.
UPDATE enrollments
SET status = 'confirmed',
    confirmed_at = now(),
    updated_at = now()
WHERE id = ANY(:ids)
  AND school_id = :school_id
  AND status = 'pending';

-- name: cancel_enrollments :execrows
-- Cancel pending or confirmed enrollments in one statement; returns how many changed.
-- Served by enrollments_pkey.
UPDATE enrollments
SET status = 'cancelled',
    cancelled_at = now(),
    updated_at = now()
WHERE id = ANY(:ids)
  AND school_id = :school_id
  AND status IN ('pending', 'confirmed');

-- name: transfer_class_enrollments :execrows
-- Move a cohort from one class to another of the same school and year in one
-- statement. Each student's confirmed enrollment in :from_class_id becomes
-- 'transferred' and a confirmed one in :to_class_id is inserted with the id at the
-- same position in :new_ids (parallel to :student_ids). Returns how many moved.
-- The unique index on confirmed (student_id, school_year_id) holds: the insert reads
-- the updated rows from the CTE, so each old row is already marked when the new one
-- is checked, and the check skips row versions this statement has replaced.
-- Served by classes_pkey and enrollments_school_id_school_year_id_status_idx (the class
-- is a filter on the year's confirmed rows).
WITH moved AS (
    UPDATE enrollments AS e
    SET status = 'transferred',
        updated_at = now()
    FROM unnest(:student_ids::text[], :new_ids::text[]) AS u (student_id, new_id),
         classes AS t
    WHERE e.class_id = :from_class_id
      AND e.status = 'confirmed'
      AND e.school_id = :school_id
      AND e.student_id = u.student_id
      AND t.id = :to_class_id
      AND t.school_id = :school_id
      AND t.school_year_id = e.school_year_id
      AND t.id <> e.class_id
    RETURNING u.new_id, e.student_id, e.school_year_id, t.id AS class_id
)
INSERT INTO enrollments (id, school_id, student_id, class_id, school_year_id,
                         status, confirmed_at)
SELECT new_id, :school_id, student_id, class_id, school_year_id, 'confirmed', now()
FROM moved;

-- name: insert_next_year_enrollments :execrows
-- Re-enroll a grade into the next year: every active student confirmed in a class of
-- :grade_id (and :series_id, None: any) in :from_school_year_id gets a pending
-- enrollment in :to_class_id, a class of another year of the same school. Students
-- that already have any enrollment in that year are skipped, so running it again
-- inserts nothing. Returns how many were added. Safe when two runs overlap: the id
-- of a re-enrollment is derived from the student and the year (21 characters of
-- their SHA-256 in nanoid's alphabet), so both runs insert the same ids, and ON
-- CONFLICT (id) makes the later one wait for the first to commit, then skip them:
-- a student never gets two pending enrollments for one year from this query.
-- Served by classes_pkey, classes_school_year_id_name_key,
-- enrollments_class_id_status_idx, students_pkey and, for the NOT EXISTS,
-- enrollments_school_id_school_year_id_status_idx; enrollments_pkey (conflicts).
INSERT INTO enrollments (id, school_id, student_id, class_id, school_year_id,
                         status)
SELECT translate(
           left(encode(sha256(convert_to(e.student_id || '/' || t.school_year_id,
                                         'UTF8')), 'base64'), 21),
           '+/', '-_'
       ),
       t.school_id, e.student_id, t.id, t.school_year_id, 'pending'
FROM classes AS t
JOIN classes AS c ON c.school_id = t.school_id
JOIN enrollments AS e ON e.class_id = c.id
JOIN students AS s ON s.school_id = e.school_id AND s.id = e.student_id
WHERE t.id = :to_class_id
  AND t.school_id = :school_id
  AND t.school_year_id <> :from_school_year_id
  AND c.school_year_id = :from_school_year_id
  AND c.grade_id = :grade_id
  AND (:series_id::text IS NULL OR c.series_id = :series_id)
  AND e.status = 'confirmed'
  AND e.school_id = :school_id
  AND s.status = 'active'
  AND NOT EXISTS (
      SELECT 1
      FROM enrollments AS n
      WHERE n.student_id = e.student_id
        AND n.school_year_id = t.school_year_id
        AND n.school_id = :school_id
  )
ON CONFLICT (id) DO NOTHING;

-- name: list_class_enrollments :page
-- returns: ClassEnrollment
-- budget: 10ms
-- A class's enrollments of one status (None: all), by student name.
-- Served by enrollments_class_id_status_idx (ANDed with a per-school index, since
-- the join along the tenant key names the enrollment's school), then
-- students_id_school_id_key.
-- The status filter stays "IS NULL OR" on purpose: as a [[ ]] block, the statement
-- without it gets a generic plan that walks the school's students by name (18 ms at
-- scale, over budget); this one keeps the class index for both cases.
SELECT e.id, e.student_id, s.matricule, s.full_name, e.status, e.enrolled_at,
       e.confirmed_at,
       count(*) OVER () AS total_count
FROM enrollments AS e
JOIN students AS s ON s.school_id = e.school_id AND s.id = e.student_id
WHERE e.class_id = :class_id
  AND s.school_id = :school_id
  AND (:status::text IS NULL OR e.status = :status)
ORDER BY s.full_name, e.id
LIMIT :limit OFFSET :offset;

-- name: count_class_enrollments :scalar
-- budget: 10ms
-- A class's head count: its confirmed enrollments (0 for another school's class).
-- Served by classes_id_school_id_key, then enrollments_class_id_status_idx (ANDed
-- with a per-school index, since the join along the tenant key names the school).
SELECT count(*)
FROM classes AS c
JOIN enrollments AS e ON e.school_id = c.school_id AND e.class_id = c.id
WHERE c.id = :class_id
  AND c.school_id = :school_id
  AND e.status = 'confirmed';

-- name: count_school_year_enrollments :scalar
-- budget: 10ms
-- explain: index-only
-- How many enrollments of one status (None: all) a school year has; the total for
-- list_school_year_enrollments.
-- Served by enrollments_school_id_school_year_id_status_idx (an index-only scan).
SELECT count(*)
FROM enrollments
WHERE school_id = :school_id
  AND school_year_id = :school_year_id
  [[ AND status = :status ]];

-- name: list_school_year_enrollments :keyset
-- returns: EnrollmentListing
-- budget: 10ms
-- A school year's enrollments of one status (None: all), oldest first, one seek page
-- after (:after_enrolled_at, :after_id) (both None for the first page).
-- Served by enrollments_school_id_school_year_id_enrolled_at_id_idx, walked in order
-- from the seek position (the status is a filter), then students_pkey and the
-- school's classes (classes_school_id_school_year_id_idx, read once) for the page's
-- rows.
SELECT e.id, e.student_id, s.matricule, s.full_name, e.class_id, c.name AS class_name,
       e.school_year_id, e.status, e.enrolled_at
FROM enrollments AS e
JOIN students AS s ON s.school_id = e.school_id AND s.id = e.student_id
JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id
WHERE e.school_id = :school_id
  AND e.school_year_id = :school_year_id
  [[ AND e.status = :status ]]
  AND (e.enrolled_at, e.id) > (
      coalesce(:after_enrolled_at::timestamptz, '-infinity'),
      coalesce(:after_id::text, '')
  )
ORDER BY e.enrolled_at, e.id
LIMIT :limit;

-- name: list_pending_enrollments :keyset
-- returns: EnrollmentListing
-- budget: 10ms
-- The school's confirmation queue: pending enrollments of every year, oldest
-- first, one seek page after (:after_enrolled_at, :after_id) (None: the start).
-- Served by enrollments_school_id_enrolled_at_where_pending_idx from the seek
-- position, then students_id_school_id_key, and the school's classes hashed
-- (classes_school_id_school_year_id_idx); the page is sorted after the join.
SELECT e.id, e.student_id, s.matricule, s.full_name, e.class_id, c.name AS class_name,
       e.school_year_id, e.status, e.enrolled_at
FROM enrollments AS e
JOIN students AS s ON s.school_id = e.school_id AND s.id = e.student_id
JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id
WHERE e.school_id = :school_id
  AND e.status = 'pending'
  AND (e.enrolled_at, e.id) > (
      coalesce(:after_enrolled_at::timestamptz, '-infinity'),
      coalesce(:after_id::text, '')
  )
ORDER BY e.enrolled_at, e.id
LIMIT :limit;

-- name: lookup_class_enrollments :many
-- returns: EnrollmentRef
-- budget: 10ms
-- The confirmed enrollments of these classes (those of the school), to preload
-- into a dict by student.
-- Served by classes_id_school_id_key, then enrollments_class_id_status_idx (ANDed
-- with a per-school index).
SELECT e.id, e.student_id, e.class_id, e.school_year_id, e.status
FROM classes AS c
JOIN enrollments AS e ON e.school_id = c.school_id AND e.class_id = c.id
WHERE c.id = ANY(:class_ids::text[])
  AND c.school_id = :school_id
  AND e.status = 'confirmed'
ORDER BY e.class_id, e.student_id, e.id;

-- name: lookup_student_enrollments :many
-- returns: EnrollmentRef
-- budget: 10ms
-- The pending and confirmed enrollments of these students in one school year, to
-- preload into a dict by student.
-- Served by students_pkey, or for a class's worth of ids
-- students_school_id_full_name_id_idx (the school's students, filtered by id), then
-- enrollments_student_id_school_year_id_idx.
SELECT e.id, e.student_id, e.class_id, e.school_year_id, e.status
FROM students AS s
JOIN enrollments AS e ON e.school_id = s.school_id AND e.student_id = s.id
WHERE s.id = ANY(:student_ids::text[])
  AND s.school_id = :school_id
  AND e.school_year_id = :school_year_id
  AND e.status IN ('pending', 'confirmed')
ORDER BY e.student_id, e.id;

-- name: list_student_enrollments :many
-- returns: StudentEnrollment
-- budget: 10ms
-- A student's enrollment history across years, oldest first.
-- Served by enrollments_student_id_school_year_id_idx.
SELECT e.id, e.school_year_id, y.name AS school_year_name, e.class_id,
       c.name AS class_name, e.status, e.enrolled_at, e.confirmed_at, e.cancelled_at
FROM enrollments AS e
JOIN school_years AS y ON y.school_id = e.school_id AND y.id = e.school_year_id
JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id
WHERE e.student_id = :student_id
  AND e.school_id = :school_id
ORDER BY y.starts_on, e.enrolled_at, e.id;
