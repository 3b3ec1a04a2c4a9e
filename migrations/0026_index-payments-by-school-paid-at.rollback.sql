-- Drop payments_school_id_paid_at_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS payments_school_id_paid_at_id_idx;
