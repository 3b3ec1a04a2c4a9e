-- Drop enrollments_school_year_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS enrollments_school_year_id_idx;
