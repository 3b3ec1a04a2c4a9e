-- Drop students_id_school_id_key.

DROP INDEX CONCURRENTLY IF EXISTS students_id_school_id_key;
