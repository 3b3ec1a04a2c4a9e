-- Drop enrollments_student_id_school_year_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS enrollments_student_id_school_year_id_idx;
