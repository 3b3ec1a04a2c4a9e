-- Drop payments_school_year_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS payments_school_year_id_idx;
