-- Teach the planner that a class, student or year implies its school.
-- depends: 0041_index-program-templates-by-natural-key

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Queries filter on school_id and school_year_id (or a class, a term) together,
-- and one implies the other; without functional-dependency statistics the
-- planner multiplies their selectivities, expects one row where a school has
-- hundreds, and picks nested loops or the wrong index (a school year's keyset
-- list sorted hundreds of rows instead of walking
-- enrollments_school_id_school_year_id_enrolled_at_id_idx).
CREATE STATISTICS enrollments_school_id_school_year_id_class_id_student_id_stat
    (dependencies)
    ON school_id, school_year_id, class_id, student_id
    FROM enrollments;

COMMENT ON STATISTICS enrollments_school_id_school_year_id_class_id_student_id_stat
    IS 'a class, a student and a school year each imply the school';

CREATE STATISTICS payments_school_id_school_year_id_student_id_stat
    (dependencies)
    ON school_id, school_year_id, student_id
    FROM payments;

COMMENT ON STATISTICS payments_school_id_school_year_id_student_id_stat
    IS 'a student and a school year each imply the school';

CREATE STATISTICS marks_school_id_class_id_term_id_student_id_stat
    (dependencies)
    ON school_id, class_id, term_id, student_id
    FROM marks;

COMMENT ON STATISTICS marks_school_id_class_id_term_id_student_id_stat
    IS 'a class, a term and a student each imply the school';

CREATE STATISTICS classes_school_id_school_year_id_stat
    (dependencies)
    ON school_id, school_year_id
    FROM classes;

COMMENT ON STATISTICS classes_school_id_school_year_id_stat
    IS 'a school year implies the school';

CREATE STATISTICS fee_structures_school_id_school_year_id_stat
    (dependencies)
    ON school_id, school_year_id
    FROM fee_structures;

COMMENT ON STATISTICS fee_structures_school_id_school_year_id_stat
    IS 'a school year implies the school';

-- Build them now rather than at the next autoanalyze (a sample of each table,
-- a second or two at a million rows; reads and writes go on meanwhile).
ANALYZE enrollments, payments, marks, classes, fee_structures;
