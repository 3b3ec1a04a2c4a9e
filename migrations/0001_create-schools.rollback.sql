-- Drop schools and the set_updated_at() function.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

DROP TABLE schools;

DROP FUNCTION set_updated_at();
