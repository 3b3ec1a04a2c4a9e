-- Drop fee_structures.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

DROP TABLE fee_structures;
