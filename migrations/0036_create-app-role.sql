-- Create the application role yeko_app and grant it the domain tables.
-- depends: 0035_create-jobs

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Roles belong to the whole cluster, not to this database: another database (a
-- test clone, a staging copy) may have created yeko_app already. It has no
-- password; set one with ALTER ROLE, or use trust or peer authentication.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yeko_app') THEN
        BEGIN
            CREATE ROLE yeko_app
                LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
            COMMENT ON ROLE yeko_app
                IS 'The application: sees only the school set in yeko.school_id';
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it meanwhile
        END;
    END IF;
    IF EXISTS (
        SELECT FROM pg_roles
        WHERE rolname = 'yeko_app'
          AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role yeko_app bypasses row-level security'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'run ALTER ROLE yeko_app NOSUPERUSER NOBYPASSRLS';
    END IF;
END;
$$;

GRANT USAGE ON SCHEMA public TO yeko_app;

GRANT SELECT, INSERT, UPDATE, DELETE
ON
    schools, users, user_schools, school_year_templates, school_years, terms,
    tracks, grades, series, subjects, program_templates, program_template_chapters,
    coefficient_templates, classes, students, enrollments, fee_structures, marks,
    jobs
TO yeko_app;

-- The ledger is append-only: no UPDATE or DELETE to grant, even for a refund.
GRANT SELECT, INSERT ON payments TO yeko_app;
