-- Force row-level security on school-owned tables; the owner keeps an explicit policy.
-- depends: 0044_create-platform-role

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Without FORCE, the tables' owner skips every policy: an owner connection
-- inside for_school(A) saw every school. With FORCE the owner is subject to RLS
-- like any role, so it gets a policy of its own, owner_maintenance: outside a
-- school scope (yeko.school_id unset or empty) it sees and writes every row, so
-- migrations, the seeder and maintenance work as before; inside one it is held
-- to that school like yeko_app. Superusers and BYPASSRLS roles skip RLS anyway.
-- The policy names the role running this migration (TO CURRENT_USER), so that
-- role must be the tables' owner; after ALTER TABLE ... OWNER TO, run ALTER
-- POLICY owner_maintenance ON <table> TO <new owner> too (docs/tenancy.md).
DO $$
BEGIN
    IF EXISTS (
        SELECT FROM pg_class
        WHERE oid = ANY(ARRAY[
            'schools', 'user_schools', 'school_years', 'terms', 'classes',
            'students', 'enrollments', 'fee_structures', 'payments',
            'marks', 'jobs'
        ]::regclass[])
          AND relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
    ) THEN
        RAISE EXCEPTION 'role % does not own the school-owned tables', current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'run the migrations as the tables'' owner (SET ROLE <owner>)';
    END IF;
END;
$$;

CREATE POLICY owner_maintenance ON schools
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON schools
    IS 'the owner maintains every school outside a scope, only its school inside one';

ALTER TABLE schools FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON user_schools
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON user_schools
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE user_schools FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON school_years
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON school_years
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE school_years FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON terms
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON terms
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE terms FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON classes
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON classes
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE classes FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON students
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON students
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE students FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON enrollments
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON enrollments
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE enrollments FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON fee_structures
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON fee_structures
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE fee_structures FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON payments
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON payments
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE payments FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON marks
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON marks
    IS 'the owner maintains every row outside a school scope, one school inside it';

ALTER TABLE marks FORCE ROW LEVEL SECURITY;

CREATE POLICY owner_maintenance ON jobs
AS PERMISSIVE
FOR ALL
TO CURRENT_USER
USING (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    NULLIF(current_setting('yeko.school_id', true), '') IS NULL
    OR school_id IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY owner_maintenance ON jobs
    IS 'the owner maintains every job outside a scope; inside one, as yeko_app';

ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
