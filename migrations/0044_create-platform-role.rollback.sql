-- Drop yeko_platform's policies and revoke its grants; the cluster-wide role stays.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Other databases of the cluster may still use yeko_platform: it is not dropped.
DROP POLICY platform_read ON school_years;

DROP POLICY platform_read ON user_schools;

DROP POLICY platform_access ON jobs;

DROP POLICY platform_access ON schools;

REVOKE ALL ON schools, jobs, users, user_schools, school_years FROM yeko_platform;

REVOKE ALL ON SCHEMA public FROM yeko_platform;
