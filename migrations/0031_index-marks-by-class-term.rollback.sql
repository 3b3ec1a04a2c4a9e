-- Drop marks_class_id_term_id_subject_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS marks_class_id_term_id_subject_id_idx;
