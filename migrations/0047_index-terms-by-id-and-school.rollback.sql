-- Drop terms_id_school_id_key.

DROP INDEX CONCURRENTLY IF EXISTS terms_id_school_id_key;
