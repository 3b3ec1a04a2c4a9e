-- Enable row-level security: yeko_app sees only the school set in yeko.school_id.
-- depends: 0036_create-app-role

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Database.for_school() runs SELECT set_config('yeko.school_id', id, true) (SET
-- LOCAL) at the start of its transaction. Unset or empty, the setting matches no
-- row: yeko_app fails closed. RLS is enabled, not forced: the owner that
-- migrates and seeds the schema is not subject to it.

ALTER TABLE schools ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON schools
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON schools
    IS 'yeko_app sees and writes only the school named by yeko.school_id';

ALTER TABLE user_schools ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON user_schools
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON user_schools
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE school_years ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON school_years
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON school_years
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE terms ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON terms
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON terms
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE classes ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON classes
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON classes
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE students ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON students
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON students
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE enrollments ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON enrollments
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON enrollments
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE fee_structures ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON fee_structures
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON fee_structures
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE payments ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON payments
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON payments
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE marks ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON marks
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (school_id = NULLIF(current_setting('yeko.school_id', true), ''))
WITH CHECK (school_id = NULLIF(current_setting('yeko.school_id', true), ''));

COMMENT ON POLICY school_scope ON marks
    IS 'yeko_app sees and writes only rows of the school in yeko.school_id';

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;

CREATE POLICY school_scope ON jobs
AS PERMISSIVE
FOR ALL
TO yeko_app
USING (
    school_id IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
)
WITH CHECK (
    school_id IS NULL
    OR school_id = NULLIF(current_setting('yeko.school_id', true), '')
);

COMMENT ON POLICY school_scope ON jobs
    IS 'yeko_app sees jobs of no school and of the school in yeko.school_id';
