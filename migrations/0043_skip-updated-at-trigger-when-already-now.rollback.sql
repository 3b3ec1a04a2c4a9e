-- Call set_updated_at() for every updated row again.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

DO $$
DECLARE
    target record;
BEGIN
    FOR target IN
        SELECT tgname, tgrelid::regclass AS tbl
        FROM pg_trigger
        WHERE tgfoid = 'set_updated_at()'::regprocedure
          AND NOT tgisinternal
    LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW '
            'EXECUTE FUNCTION set_updated_at()',
            target.tgname,
            target.tbl
        );
    END LOOP;
END;
$$;
