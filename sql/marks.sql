-- Marks: students' marks out of 20 per class, subject and term, and what report
-- cards compute from them. A subject's average is the plain mean of its marks,
-- rounded to 2 places; the term average weights those subject averages by the
-- coefficient of the class's grade and series (or the grade's coefficient without
-- a series) in the template of the class's school year.

-- name: insert_marks :execrows
-- Record many marks in one statement: one array per MarkInsert field but
-- school_id, columns_of(inserts, fields=[...]). Marks whose student, class or term
-- is not the school's, or whose term is not of the class's year, are skipped, and
-- so are ids already recorded (a retried batch inserts nothing). Returns how many
-- marks were added.
-- Served by students_pkey, classes_pkey, terms_pkey and marks_pkey.
INSERT INTO marks (id, school_id, student_id, class_id, subject_id, term_id, kind,
                   label, value)
SELECT u.id, c.school_id, s.id, c.id, u.subject_id, t.id, u.kind, u.label, u.value
FROM unnest(:id::text[], :student_id::text[], :class_id::text[],
            :subject_id::text[], :term_id::text[], :kind::text[],
            :label::text[], :value::numeric[])
    AS u (id, student_id, class_id, subject_id, term_id, kind, label, value)
JOIN students AS s ON s.id = u.student_id
JOIN classes AS c ON c.id = u.class_id
JOIN terms AS t ON t.id = u.term_id
WHERE s.school_id = :school_id
  AND c.school_id = :school_id
  AND t.school_id = :school_id
  AND t.school_year_id = c.school_year_id
ON CONFLICT (id) DO NOTHING;

-- name: get_mark :one
-- returns: Mark
-- budget: 10ms
-- One mark of the school by id.
-- Served by marks_pkey.
SELECT id, school_id, student_id, class_id, subject_id, term_id, kind, label, value,
       recorded_at, created_at, updated_at
FROM marks
WHERE id = :id
  AND school_id = :school_id;

-- name: update_mark_value :execrows
-- Correct one mark's value; returns 1, or 0 for an unknown or another school's id.
-- Served by marks_pkey.
UPDATE marks
SET value = :value
WHERE id = :id
  AND school_id = :school_id;

-- name: delete_marks :execrows
-- Delete marks entered by mistake; returns how many went.
-- Served by marks_pkey.
DELETE FROM marks
WHERE id = ANY(:ids)
  AND school_id = :school_id;

-- name: list_class_subject_marks :many
-- returns: MarkSheetLine
-- budget: 10ms
-- A teacher's mark sheet: a class's marks in one subject and term, by student name,
-- then in the order they were recorded.
-- Served by marks_class_id_term_id_subject_id_idx.
SELECT m.id, m.student_id, s.matricule, s.full_name, m.kind, m.label, m.value,
       m.recorded_at
FROM marks AS m
JOIN students AS s ON s.school_id = m.school_id AND s.id = m.student_id
WHERE m.class_id = :class_id
  AND m.term_id = :term_id
  AND m.subject_id = :subject_id
  AND m.school_id = :school_id
ORDER BY s.full_name, m.student_id, m.recorded_at, m.id;

-- name: list_student_report_card :many
-- returns: ReportCardLine
-- budget: 10ms
-- A student's report card for a term: per subject (and class, should the student
-- have changed class), the number of marks, their average and the coefficient,
-- with the weighted term average on every line. By subject name.
-- Served by marks_student_id_term_id_subject_id_idx, classes_pkey, school_years_pkey
-- and coefficient_templates_template_grade_series_subject_key.
WITH subject_averages AS (
    SELECT subject_id, class_id, count(*) AS mark_count,
           round(avg(value), 2) AS average
    FROM marks
    WHERE student_id = :student_id
      AND term_id = :term_id
      AND school_id = :school_id
    GROUP BY subject_id, class_id
)
SELECT sa.subject_id, sub.name AS subject_name, sa.class_id, sa.mark_count,
       sa.average, k.weight AS coefficient,
       round(sum(sa.average * k.weight) OVER () / sum(k.weight) OVER (), 2)
           AS term_average
FROM subject_averages AS sa
JOIN subjects AS sub ON sub.id = sa.subject_id
JOIN classes AS c ON c.id = sa.class_id AND c.school_id = :school_id
JOIN school_years AS y ON y.school_id = c.school_id AND y.id = c.school_year_id
LEFT JOIN LATERAL (
    SELECT ct.weight
    FROM coefficient_templates AS ct
    WHERE ct.school_year_template_id = y.school_year_template_id
      AND ct.grade_id = c.grade_id
      AND ct.subject_id = sa.subject_id
      AND (ct.series_id = c.series_id OR ct.series_id IS NULL)
    ORDER BY ct.series_id NULLS LAST
    LIMIT 1
) AS k ON true
ORDER BY sub.name, sa.subject_id, sa.class_id;

-- name: list_class_ranking :many
-- returns: ClassRankingLine
-- budget: 10ms
-- A class's ranking for a term: each student confirmed in the class with marks in
-- it, by weighted term average (the report card's), best first; ties share a
-- position (rank), students without a weighted average come last.
-- Served by classes_pkey, marks_class_id_term_id_subject_id_idx,
-- students_id_school_id_key and
-- enrollments_student_id_school_year_id_where_confirmed_key; the year's coefficients (a
-- few dozen rows) are scanned.
WITH cls AS (
    SELECT c.id, c.grade_id, c.series_id, y.school_year_template_id
    FROM classes AS c
    JOIN school_years AS y ON y.school_id = c.school_id AND y.id = c.school_year_id
    WHERE c.id = :class_id
      AND c.school_id = :school_id
),
coefficients AS (
    SELECT DISTINCT ON (ct.subject_id) ct.subject_id, ct.weight
    FROM cls
    JOIN coefficient_templates AS ct
        ON ct.school_year_template_id = cls.school_year_template_id
        AND ct.grade_id = cls.grade_id
        AND (ct.series_id = cls.series_id OR ct.series_id IS NULL)
    ORDER BY ct.subject_id, ct.series_id NULLS LAST
),
subject_averages AS (
    SELECT m.student_id, m.subject_id, round(avg(m.value), 2) AS average
    FROM cls
    JOIN marks AS m ON m.class_id = cls.id
    WHERE m.term_id = :term_id
      AND m.school_id = :school_id
    GROUP BY m.student_id, m.subject_id
),
student_averages AS (
    SELECT sa.student_id,
           round(sum(sa.average * k.weight) / sum(k.weight), 2) AS term_average
    FROM subject_averages AS sa
    LEFT JOIN coefficients AS k ON k.subject_id = sa.subject_id
    GROUP BY sa.student_id
)
SELECT s.id AS student_id, s.matricule, s.full_name, sv.term_average,
       rank() OVER (ORDER BY sv.term_average DESC NULLS LAST) AS position
FROM student_averages AS sv
JOIN students AS s ON s.id = sv.student_id
JOIN enrollments AS e ON e.school_id = s.school_id AND e.student_id = s.id
WHERE e.class_id = :class_id
  AND e.school_id = :school_id
  AND e.status = 'confirmed'
ORDER BY position, s.full_name, s.id;
