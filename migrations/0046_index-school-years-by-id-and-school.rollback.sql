-- Drop school_years_id_school_id_key.

DROP INDEX CONCURRENTLY IF EXISTS school_years_id_school_id_key;
