-- Drop enrollments_class_id_status_idx.

DROP INDEX CONCURRENTLY IF EXISTS enrollments_class_id_status_idx;
