-- Drop students_school_id_full_name_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS students_school_id_full_name_id_idx;
