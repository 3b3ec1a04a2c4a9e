-- Create schools (the tenants) and the shared set_updated_at() trigger function.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE FUNCTION set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_updated_at()
    IS 'BEFORE UPDATE row trigger: updated_at := now(), the transaction start time';

CREATE TABLE schools (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    name text NOT NULL,
    code text NOT NULL,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'suspended', 'archived')),
    city text,
    address text,
    phone text,
    email text,
    settings jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schools_code_key UNIQUE (code)
);

COMMENT ON TABLE schools
    IS 'The tenants: every school-owned row carries a school_id that points here';

COMMENT ON INDEX schools_code_key
    IS 'serves schools.find_school_by_code and schools.upsert_schools';

CREATE INDEX schools_status_created_at_id_idx
    ON schools (status, created_at DESC, id DESC);

COMMENT ON INDEX schools_status_created_at_id_idx
    IS 'serves schools.list_schools';

CREATE TRIGGER schools_set_updated_at
BEFORE UPDATE ON schools
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
