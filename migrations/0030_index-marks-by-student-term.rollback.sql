-- Drop marks_student_id_term_id_subject_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS marks_student_id_term_id_subject_id_idx;
