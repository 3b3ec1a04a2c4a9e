-- Drop payments and the reject_ledger_change() function.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

DROP TABLE payments;

DROP FUNCTION reject_ledger_change();
