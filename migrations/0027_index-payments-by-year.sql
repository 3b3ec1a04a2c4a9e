-- Index payments by school year for year totals.
-- depends: 0026_index-payments-by-school-paid-at
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_school_year_id_idx
    ON payments (school_year_id);

COMMENT ON INDEX payments_school_year_id_idx
    IS 'serves analytics.list_top_debtors and the school year foreign key (payments_school_year_id_fkey)';
