-- Drop the owner_maintenance policies; the owner skips row-level security again.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

ALTER TABLE jobs NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON jobs;

ALTER TABLE marks NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON marks;

ALTER TABLE payments NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON payments;

ALTER TABLE fee_structures NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON fee_structures;

ALTER TABLE enrollments NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON enrollments;

ALTER TABLE students NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON students;

ALTER TABLE classes NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON classes;

ALTER TABLE terms NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON terms;

ALTER TABLE school_years NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON school_years;

ALTER TABLE user_schools NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON user_schools;

ALTER TABLE schools NO FORCE ROW LEVEL SECURITY;

DROP POLICY owner_maintenance ON schools;
