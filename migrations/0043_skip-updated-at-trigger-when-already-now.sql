-- Call set_updated_at() only for rows whose updated_at is not already now().
-- depends: 0042_create-school-scope-statistics

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- The row trigger ran its PL/pgSQL function for every updated row: 0.5 µs a
-- row, a twentieth of a 50,000-row status update. A WHEN condition is checked
-- without calling the function, so statements that set updated_at = now()
-- themselves (the multi-row ones do) skip it, while any other update still
-- gets updated_at = now(): the guarantee is unchanged. Every table with the
-- trigger gets the same condition, in one place rather than nineteen.
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
            'WHEN (NEW.updated_at IS DISTINCT FROM now()) '
            'EXECUTE FUNCTION set_updated_at()',
            target.tgname,
            target.tbl
        );
    END LOOP;
END;
$$;
