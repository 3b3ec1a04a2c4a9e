-- Nothing to undo: the keys stay validated until 0051's rollback drops them.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';
