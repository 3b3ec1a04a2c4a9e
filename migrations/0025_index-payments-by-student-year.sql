-- Index payments by student and school year, in time order, for balances.
-- depends: 0024_create-payments
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_student_id_school_year_id_paid_at_idx
    ON payments (student_id, school_year_id, paid_at);

COMMENT ON INDEX payments_student_id_school_year_id_paid_at_idx
    IS 'serves payments.list_student_payments and payments.get_student_balance';
