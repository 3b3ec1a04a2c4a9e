-- Drop the school_scope policies and disable row-level security.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

DROP POLICY school_scope ON schools;

ALTER TABLE schools DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON user_schools;

ALTER TABLE user_schools DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON school_years;

ALTER TABLE school_years DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON terms;

ALTER TABLE terms DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON classes;

ALTER TABLE classes DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON students;

ALTER TABLE students DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON enrollments;

ALTER TABLE enrollments DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON fee_structures;

ALTER TABLE fee_structures DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON payments;

ALTER TABLE payments DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON marks;

ALTER TABLE marks DISABLE ROW LEVEL SECURITY;

DROP POLICY school_scope ON jobs;

ALTER TABLE jobs DISABLE ROW LEVEL SECURITY;
