-- Create the platform role yeko_platform for the cross-school paths, and nothing more.
-- depends: 0043_skip-updated-at-trigger-when-already-now

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- A few paths work before or above any one school: the school picker at sign-in,
-- finding a school by its code, creating and listing schools, the job worker, and
-- the platform's counts. They run as this role on connections of their own. It
-- reads the schools, the memberships and the school years of every school, and
-- the job queue; it is granted nothing on classes, students, enrollments, fees,
-- payments or marks, so a bug in a platform path cannot read a child's record.
-- Like yeko_app it is created once per cluster.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yeko_platform') THEN
        BEGIN
            CREATE ROLE yeko_platform
                LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
            COMMENT ON ROLE yeko_platform
                IS 'Cross-school platform paths: schools, memberships, jobs; no pupil data';
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it meanwhile
        END;
    END IF;
    IF EXISTS (
        SELECT FROM pg_roles
        WHERE rolname = 'yeko_platform'
          AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role yeko_platform bypasses row-level security'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'run ALTER ROLE yeko_platform NOSUPERUSER NOBYPASSRLS';
    END IF;
END;
$$;

GRANT USAGE ON SCHEMA public TO yeko_platform;

-- schools.create_school, upsert_schools (an import), list_schools,
-- find_school_by_code, list_school_status_counts; no DELETE: schools are archived.
GRANT SELECT, INSERT, UPDATE ON schools TO yeko_platform;

-- The jobs.* worker: enqueue, claim, complete, fail, requeue, count, get.
GRANT SELECT, INSERT, UPDATE ON jobs TO yeko_platform;

-- Sign-in finds the user, then users.list_user_schools lists the schools to pick
-- from; school_years.count_template_school_years counts a template's adopters.
GRANT SELECT ON users, user_schools, school_years TO yeko_platform;

CREATE POLICY platform_access ON schools
AS PERMISSIVE
FOR ALL
TO yeko_platform
USING (true)
WITH CHECK (true);

COMMENT ON POLICY platform_access ON schools
    IS 'yeko_platform lists, finds and creates schools; its grants leave out DELETE';

CREATE POLICY platform_access ON jobs
AS PERMISSIVE
FOR ALL
TO yeko_platform
USING (true)
WITH CHECK (true);

COMMENT ON POLICY platform_access ON jobs
    IS 'yeko_platform runs the job queue of every school; its grants leave out DELETE';

CREATE POLICY platform_read ON user_schools
AS PERMISSIVE
FOR SELECT
TO yeko_platform
USING (true);

COMMENT ON POLICY platform_read ON user_schools
    IS 'yeko_platform reads every membership, for the school picker at sign-in';

CREATE POLICY platform_read ON school_years
AS PERMISSIVE
FOR SELECT
TO yeko_platform
USING (true);

COMMENT ON POLICY platform_read ON school_years
    IS 'yeko_platform reads every school year, for counts across schools';
