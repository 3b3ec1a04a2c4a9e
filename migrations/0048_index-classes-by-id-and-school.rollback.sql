-- Drop classes_id_school_id_key.

DROP INDEX CONCURRENTLY IF EXISTS classes_id_school_id_key;
