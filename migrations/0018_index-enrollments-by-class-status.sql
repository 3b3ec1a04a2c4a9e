-- Index enrollments by class and status for class lists and head counts.
-- depends: 0017_create-enrollments
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

CREATE INDEX CONCURRENTLY IF NOT EXISTS enrollments_class_id_status_idx
    ON enrollments (class_id, status);

COMMENT ON INDEX enrollments_class_id_status_idx
    IS 'serves enrollments.list_class_enrollments, enrollments.count_class_enrollments, enrollments.lookup_class_enrollments, payments.list_class_outstanding and the per-class counts of analytics.list_enrollment_counts and analytics.get_year_fee_collection';
