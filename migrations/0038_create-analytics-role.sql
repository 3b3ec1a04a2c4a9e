-- Create the read-only role yeko_analytics, which reads every school's rows.
-- depends: 0037_enable-row-level-security

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Cross-school reports run as this role on connections of their own, never as
-- yeko_app with a wider setting. Like yeko_app it is created once per cluster.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yeko_analytics') THEN
        BEGIN
            CREATE ROLE yeko_analytics
                LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
            COMMENT ON ROLE yeko_analytics
                IS 'Cross-school analytics: reads every school, writes nothing';
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it meanwhile
        END;
    END IF;
    IF EXISTS (
        SELECT FROM pg_roles
        WHERE rolname = 'yeko_analytics'
          AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role yeko_analytics bypasses row-level security'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'run ALTER ROLE yeko_analytics NOSUPERUSER NOBYPASSRLS';
    END IF;
END;
$$;

GRANT USAGE ON SCHEMA public TO yeko_analytics;

GRANT SELECT
ON
    schools, users, user_schools, school_year_templates, school_years, terms,
    tracks, grades, series, subjects, program_templates, program_template_chapters,
    coefficient_templates, classes, students, enrollments, fee_structures,
    payments, marks, jobs
TO yeko_analytics;

CREATE POLICY analytics_read ON schools
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON schools
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON user_schools
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON user_schools
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON school_years
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON school_years
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON terms
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON terms
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON classes
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON classes
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON students
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON students
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON enrollments
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON enrollments
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON fee_structures
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON fee_structures
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON payments
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON payments
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON marks
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON marks
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';

CREATE POLICY analytics_read ON jobs
AS PERMISSIVE
FOR SELECT
TO yeko_analytics
USING (true);

COMMENT ON POLICY analytics_read ON jobs
    IS 'yeko_analytics reads the rows of every school, for cross-school reports';
