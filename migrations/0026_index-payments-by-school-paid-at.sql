-- Index payments by school and time for the keyset-paged cash journal.
-- depends: 0025_index-payments-by-student-year
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_school_id_paid_at_id_idx
    ON payments (school_id, paid_at, id);

COMMENT ON INDEX payments_school_id_paid_at_id_idx
    IS 'serves payments.list_school_payments (keyset) and payments.count_school_payments (index-only)';
