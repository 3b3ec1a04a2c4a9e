-- Drop fee_structures_id_school_id_key.

DROP INDEX CONCURRENTLY IF EXISTS fee_structures_id_school_id_key;
