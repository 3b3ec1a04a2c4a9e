-- Drop payments_school_id_school_year_id_paid_at_idx.

DROP INDEX CONCURRENTLY IF EXISTS payments_school_id_school_year_id_paid_at_idx;
