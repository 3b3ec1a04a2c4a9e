-- Samples: representative parameters for the plan guardrails (yeko_sql.plans).
-- A budgeted query's parameter :p takes the value of sample_<namespace>_p, else
-- of sample_p. Every sample is about one coherent slice of the seeded data: the
-- busiest school (the most students), its active year, its biggest class of that
-- year, the student of that class with the most payments, the term with the most
-- marks. They read whole tables and are not for the application. No two samples
-- have the same statement once constants are taken out: pg_stat_statements would
-- keep one of them, and query coverage would miss the other.

-- name: sample_school_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The busiest school: the one with the most students.
SELECT school_id
FROM students
GROUP BY school_id
ORDER BY count(*) DESC, school_id
LIMIT 1;

-- name: sample_school_year_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The busiest school's active year.
SELECT y.id
FROM school_years AS y
WHERE y.status = 'active'
  AND y.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  );

-- name: sample_school_years_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The busiest school's oldest year, for get_school_year (get_term gets it too and
-- finds no term: the plan is the same primary-key probe).
SELECT y.id
FROM school_years AS y
WHERE y.school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
ORDER BY y.starts_on, y.id
LIMIT 1;

-- name: sample_school_year_template_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The template of the busiest school's active year.
SELECT y.school_year_template_id
FROM school_years AS y
WHERE y.status = 'active'
  AND y.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  );

-- name: sample_class_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The biggest class (most confirmed students) of the busiest school's active year.
WITH year AS (
    SELECT y.id, y.school_id
    FROM school_years AS y
    WHERE y.status = 'active'
      AND y.school_id = (
          SELECT school_id
          FROM students
          GROUP BY school_id
          ORDER BY count(*) DESC, school_id
          LIMIT 1
      )
)
SELECT c.id
FROM year
JOIN classes AS c ON c.school_id = year.school_id AND c.school_year_id = year.id
LEFT JOIN enrollments AS e ON e.class_id = c.id AND e.status = 'confirmed'
GROUP BY c.id
ORDER BY count(e.id) DESC, c.id
LIMIT 1;

-- name: sample_classes_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The first class by name of the busiest school's active year, for get_class.
SELECT c.id
FROM classes AS c
JOIN school_years AS y ON y.id = c.school_year_id
WHERE y.status = 'active'
  AND c.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  )
ORDER BY c.name, c.id
LIMIT 1;

-- name: sample_classes_name :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The name of the biggest class of the busiest school's active year.
WITH year AS (
    SELECT y.id, y.school_id
    FROM school_years AS y
    WHERE y.status = 'active'
      AND y.school_id = (
          SELECT school_id
          FROM students
          GROUP BY school_id
          ORDER BY count(*) DESC, school_id
          LIMIT 1
      )
)
SELECT c.name
FROM year
JOIN classes AS c ON c.school_id = year.school_id AND c.school_year_id = year.id
LEFT JOIN enrollments AS e ON e.class_id = c.id AND e.status = 'confirmed'
GROUP BY c.id
ORDER BY count(e.id) DESC, c.id
LIMIT 1;

-- name: sample_class_ids :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- Every class of the busiest school's active year.
SELECT array_agg(c.id ORDER BY c.id)
FROM classes AS c
JOIN school_years AS y ON y.id = c.school_year_id
WHERE y.status = 'active'
  AND c.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  );

-- name: sample_grade_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The grade of the biggest class of the busiest school's active year.
WITH year AS (
    SELECT y.id, y.school_id
    FROM school_years AS y
    WHERE y.status = 'active'
      AND y.school_id = (
          SELECT school_id
          FROM students
          GROUP BY school_id
          ORDER BY count(*) DESC, school_id
          LIMIT 1
      )
)
SELECT c.grade_id
FROM year
JOIN classes AS c ON c.school_id = year.school_id AND c.school_year_id = year.id
LEFT JOIN enrollments AS e ON e.class_id = c.id AND e.status = 'confirmed'
GROUP BY c.id
ORDER BY count(e.id) DESC, c.id
LIMIT 1;

-- name: sample_series_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The series of the biggest second-cycle class (one with a series) of the busiest
-- school's active year.
WITH year AS (
    SELECT y.id, y.school_id
    FROM school_years AS y
    WHERE y.status = 'active'
      AND y.school_id = (
          SELECT school_id
          FROM students
          GROUP BY school_id
          ORDER BY count(*) DESC, school_id
          LIMIT 1
      )
)
SELECT c.series_id
FROM year
JOIN classes AS c ON c.school_id = year.school_id AND c.school_year_id = year.id
LEFT JOIN enrollments AS e ON e.class_id = c.id AND e.status = 'confirmed'
WHERE c.series_id IS NOT NULL
GROUP BY c.id
ORDER BY count(e.id) DESC, c.id
LIMIT 1;

-- name: sample_track_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The track with the most grades.
SELECT track_id
FROM grades
GROUP BY track_id
ORDER BY count(*) DESC, track_id
LIMIT 1;

-- name: sample_student_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The student of the biggest class (see sample_class_id) with the most ledger rows
-- that year.
WITH year AS (
    SELECT y.id, y.school_id
    FROM school_years AS y
    WHERE y.status = 'active'
      AND y.school_id = (
          SELECT school_id
          FROM students
          GROUP BY school_id
          ORDER BY count(*) DESC, school_id
          LIMIT 1
      )
),
big AS (
    SELECT c.id, c.school_year_id
    FROM year
    JOIN classes AS c ON c.school_id = year.school_id AND c.school_year_id = year.id
    LEFT JOIN enrollments AS e ON e.class_id = c.id AND e.status = 'confirmed'
    GROUP BY c.id
    ORDER BY count(e.id) DESC, c.id
    LIMIT 1
)
SELECT e.student_id
FROM big
JOIN enrollments AS e ON e.class_id = big.id AND e.status = 'confirmed'
LEFT JOIN payments AS p ON p.student_id = e.student_id
    AND p.school_year_id = big.school_year_id
GROUP BY e.student_id
ORDER BY count(p.id) DESC, e.student_id
LIMIT 1;

-- name: sample_students_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The busiest school's student with the most ledger rows, for get_student.
SELECT student_id
FROM payments
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
GROUP BY student_id
ORDER BY count(*) DESC, student_id
LIMIT 1;

-- name: sample_student_ids :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The confirmed students of the biggest class of the busiest school's active year.
WITH year AS (
    SELECT y.id, y.school_id
    FROM school_years AS y
    WHERE y.status = 'active'
      AND y.school_id = (
          SELECT school_id
          FROM students
          GROUP BY school_id
          ORDER BY count(*) DESC, school_id
          LIMIT 1
      )
),
big AS (
    SELECT c.id
    FROM year
    JOIN classes AS c ON c.school_id = year.school_id AND c.school_year_id = year.id
    LEFT JOIN enrollments AS e ON e.class_id = c.id AND e.status = 'confirmed'
    GROUP BY c.id
    ORDER BY count(e.id) DESC, c.id
    LIMIT 1
)
SELECT array_agg(e.student_id ORDER BY e.student_id)
FROM big
JOIN enrollments AS e ON e.class_id = big.id AND e.status = 'confirmed';

-- name: sample_matricule :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The matricule of the busiest school's student with the most ledger rows.
SELECT s.matricule
FROM students AS s
WHERE s.id = (
    SELECT student_id
    FROM payments
    WHERE school_id = (
        SELECT school_id
        FROM students
        GROUP BY school_id
        ORDER BY count(*) DESC, school_id
        LIMIT 1
    )
    GROUP BY student_id
    ORDER BY count(*) DESC, student_id
    LIMIT 1
);

-- name: sample_matricules :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- An import's worth of matricules: 50 of the busiest school's students.
SELECT array_agg(matricule ORDER BY matricule)
FROM (
    SELECT matricule
    FROM students
    WHERE school_id = (
        SELECT school_id
        FROM students
        GROUP BY school_id
        ORDER BY count(*) DESC, school_id
        LIMIT 1
    )
    ORDER BY matricule
    LIMIT 50
) AS m;

-- name: sample_term_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The term of the busiest school's active year with the most marks (the first
-- term when none has marks).
SELECT t.id
FROM terms AS t
JOIN school_years AS y ON y.id = t.school_year_id AND y.status = 'active'
LEFT JOIN marks AS m ON m.term_id = t.id AND m.school_id = t.school_id
WHERE t.school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
GROUP BY t.id, t.starts_on
ORDER BY count(m.id) DESC, t.starts_on, t.id
LIMIT 1;

-- name: sample_on_date :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- A day ten days into the sample term (see sample_term_id).
SELECT t.starts_on + 10
FROM terms AS t
JOIN school_years AS y ON y.id = t.school_year_id AND y.status = 'active'
LEFT JOIN marks AS m ON m.term_id = t.id AND m.school_id = t.school_id
WHERE t.school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
GROUP BY t.id, t.starts_on
ORDER BY count(m.id) DESC, t.starts_on, t.id
LIMIT 1;

-- name: sample_subject_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The subject with the most marks in the busiest school (any subject without).
SELECT s.id
FROM subjects AS s
LEFT JOIN marks AS m ON m.subject_id = s.id
    AND m.school_id = (
        SELECT school_id
        FROM students
        GROUP BY school_id
        ORDER BY count(*) DESC, school_id
        LIMIT 1
    )
GROUP BY s.id
ORDER BY count(m.id) DESC, s.id
LIMIT 1;

-- name: sample_enrollments_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- One enrollment of the busiest school.
SELECT id
FROM enrollments
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
ORDER BY id
LIMIT 1;

-- name: sample_fees_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- One fee of the busiest school.
SELECT id
FROM fee_structures
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
ORDER BY id
LIMIT 1;

-- name: sample_marks_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- One mark of the busiest school.
SELECT id
FROM marks
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
ORDER BY id
LIMIT 1;

-- name: sample_payments_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- One ledger row of the busiest school.
SELECT id
FROM payments
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
ORDER BY id
LIMIT 1;

-- name: sample_method :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The method of the busiest school's first ledger row with a reference.
SELECT method
FROM payments
WHERE reference IS NOT NULL
  AND school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  )
ORDER BY id
LIMIT 1;

-- name: sample_reference :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The reference of the busiest school's first ledger row with one.
SELECT reference
FROM payments
WHERE reference IS NOT NULL
  AND school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  )
ORDER BY id
LIMIT 1;

-- name: sample_program_template_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The program with the most chapters.
SELECT p.id
FROM program_templates AS p
LEFT JOIN program_template_chapters AS c ON c.program_template_id = p.id
GROUP BY p.id
ORDER BY count(c.id) DESC, p.id
LIMIT 1;

-- name: sample_programs_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The newest program, for get_program_template.
SELECT id
FROM program_templates
ORDER BY created_at DESC, id
LIMIT 1;

-- name: sample_user_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The user who belongs to the most schools.
SELECT user_id
FROM user_schools
GROUP BY user_id
ORDER BY count(*) DESC, user_id
LIMIT 1;

-- name: sample_users_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The newest user, for get_user.
SELECT id
FROM users
ORDER BY created_at DESC, id
LIMIT 1;

-- name: sample_email :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The email of the user who belongs to the most schools, in upper case (the
-- lookup lower-cases it).
SELECT upper(u.email)
FROM users AS u
WHERE u.id = (
    SELECT user_id
    FROM user_schools
    GROUP BY user_id
    ORDER BY count(*) DESC, user_id
    LIMIT 1
);

-- name: sample_catalog_code :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The first grade's code (find_track_by_code and find_series_by_code find
-- nothing with it: the plan is the same unique-key probe).
SELECT code
FROM grades
ORDER BY sort_order, id
LIMIT 1;

-- name: sample_catalog_name :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The first subject's name.
SELECT name
FROM subjects
ORDER BY name, id
LIMIT 1;

-- name: sample_schools_code :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The busiest school's code.
SELECT code
FROM schools
WHERE id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
);

-- name: sample_school_years_name :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The name of the template of the busiest school's active year.
SELECT t.name
FROM school_year_templates AS t
JOIN school_years AS y ON y.school_year_template_id = t.id
WHERE y.status = 'active'
  AND y.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  );

-- name: sample_schools_status :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The status most schools have.
SELECT status
FROM schools
GROUP BY status
ORDER BY count(*) DESC, status
LIMIT 1;

-- name: sample_students_status :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The status most students have (active).
SELECT status
FROM students
GROUP BY status
ORDER BY count(*) DESC, status
LIMIT 1;

-- name: sample_classes_status :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The status most classes have (active).
SELECT status
FROM classes
GROUP BY status
ORDER BY count(*) DESC, status
LIMIT 1;

-- name: sample_enrollments_status :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The status most enrollments of the busiest school's active year have
-- (confirmed).
SELECT e.status
FROM enrollments AS e
JOIN school_years AS y ON y.id = e.school_year_id
WHERE y.status = 'active'
  AND e.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  )
GROUP BY e.status
ORDER BY count(*) DESC, e.status
LIMIT 1;

-- name: sample_search :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- No search: the unfiltered list, the most rows to count.
SELECT NULL::text;

-- name: sample_role :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The role most members of the busiest school have.
SELECT role
FROM user_schools
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
GROUP BY role
ORDER BY count(*) DESC, role
LIMIT 1;

-- name: sample_enrollments_after_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- Where the second keyset page of the busiest school's active year starts: the id
-- of its 50th enrollment by enrolment time.
SELECT e.id
FROM enrollments AS e
JOIN school_years AS y ON y.id = e.school_year_id
WHERE y.status = 'active'
  AND e.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  )
ORDER BY e.enrolled_at, e.id
LIMIT 1 OFFSET 49;

-- name: sample_payments_after_id :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- Where the second keyset page of the busiest school's cash journal for the sample
-- month starts (see sample_paid_from): the id of its 50th ledger row.
SELECT p.id
FROM payments AS p
WHERE p.school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
  AND p.paid_at >= (
      SELECT date_trunc('month', max(paid_at))
      FROM payments
      WHERE school_id = p.school_id
  )
ORDER BY p.paid_at, p.id
LIMIT 1 OFFSET 49;

-- name: sample_after_enrolled_at :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The enrolment time of the 50th enrollment of the busiest school's active year
-- (see sample_enrollments_after_id).
SELECT e.enrolled_at
FROM enrollments AS e
JOIN school_years AS y ON y.id = e.school_year_id
WHERE y.status = 'active'
  AND e.school_id = (
      SELECT school_id
      FROM students
      GROUP BY school_id
      ORDER BY count(*) DESC, school_id
      LIMIT 1
  )
ORDER BY e.enrolled_at, e.id
LIMIT 1 OFFSET 49;

-- name: sample_after_paid_at :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The payment time of that 50th ledger row (see sample_payments_after_id).
SELECT p.paid_at
FROM payments AS p
WHERE p.school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
)
  AND p.paid_at >= (
      SELECT date_trunc('month', max(paid_at))
      FROM payments
      WHERE school_id = p.school_id
  )
ORDER BY p.paid_at, p.id
LIMIT 1 OFFSET 49;

-- name: sample_paid_from :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The start of the busiest school's last month with payments.
SELECT date_trunc('month', max(paid_at))
FROM payments
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
);

-- name: sample_paid_to :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The end of that month: a month's cash journal.
SELECT date_trunc('month', max(paid_at)) + interval '1 month'
FROM payments
WHERE school_id = (
    SELECT school_id
    FROM students
    GROUP BY school_id
    ORDER BY count(*) DESC, school_id
    LIMIT 1
);

-- name: sample_limit :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- A keyset page of 50 rows.
SELECT 50;

-- name: sample_top :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- The dashboard's top 10 debtors.
SELECT 10::smallint;

-- name: sample_period :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- Monthly totals (varchar, so its statement differs from sample_search's in
-- pg_stat_statements, which query coverage reads).
SELECT 'month'::varchar;

-- name: sample_time_zone :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- Côte d'Ivoire's time zone, as this server knows it.
SELECT name
FROM pg_timezone_names
WHERE name = 'Africa/Abidjan';

-- name: sample_only_unpaid :scalar
-- tenant: any: picks representative parameters for plan guardrails
-- role: owner
-- Every student of the class, paid up or not.
SELECT false;
