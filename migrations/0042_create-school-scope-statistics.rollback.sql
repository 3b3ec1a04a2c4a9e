-- Drop the school-scope statistics.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

DROP STATISTICS fee_structures_school_id_school_year_id_stat,
    classes_school_id_school_year_id_stat,
    marks_school_id_class_id_term_id_student_id_stat,
    payments_school_id_school_year_id_student_id_stat,
    enrollments_school_id_school_year_id_class_id_student_id_stat;
