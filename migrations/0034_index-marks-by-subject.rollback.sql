-- Drop marks_subject_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS marks_subject_id_idx;
