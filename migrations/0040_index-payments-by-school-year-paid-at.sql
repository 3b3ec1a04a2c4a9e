-- Index a school year's ledger by payment time, with kind and amount, for totals.
-- depends: 0039_index-enrollments-by-year-enrolled-at
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_school_id_school_year_id_paid_at_idx
    ON payments (school_id, school_year_id, paid_at)
    INCLUDE (kind, amount);

COMMENT ON INDEX payments_school_id_school_year_id_paid_at_idx
    IS 'serves analytics.list_payment_totals and analytics.get_year_fee_collection (index-only)';
