-- Key terms by (id, school_id), for tenant-consistent foreign keys.
-- depends: 0046_index-school-years-by-id-and-school
-- transactional: false

SET lock_timeout = 0;

-- No timeouts: a build cut short leaves an INVALID index that IF NOT EXISTS would
-- skip on the next run. The SETs come first so that yoyo pairs the rollback's
-- DROP INDEX with them and runs it if the CREATE fails.
SET statement_timeout = 0;

-- A composite foreign key needs a unique key on the columns it references. id
-- alone is unique already, so this build cannot fail on existing rows. id comes
-- first: the planner gets one more way to find a row by id, rather than a
-- second way to list a school's rows (the table has one already).
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS terms_id_school_id_key
    ON terms (id, school_id);

COMMENT ON INDEX terms_id_school_id_key
    IS 'serves the tenant foreign keys of marks into terms';
