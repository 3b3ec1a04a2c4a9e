-- Drop payments_fee_structure_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS payments_fee_structure_id_idx;
