-- Index payments by fee structure for what each fee has collected.
-- depends: 0027_index-payments-by-year
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_fee_structure_id_idx
    ON payments (fee_structure_id);

COMMENT ON INDEX payments_fee_structure_id_idx
    IS 'serves the fee structure foreign key (payments_fee_structure_id_fkey) on fee deletes';
