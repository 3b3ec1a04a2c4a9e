-- Create users, the people who sign in; a user may work in several schools.
-- depends: 0001_create-schools

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE users (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    email text NOT NULL CHECK (email = lower(email)),
    full_name text NOT NULL,
    phone text,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('invited', 'active', 'suspended', 'archived')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

COMMENT ON TABLE users
    IS 'People who sign in; global, tied to schools through user_schools';

COMMENT ON COLUMN users.email
    IS 'Stored lower-case, so the unique key is case-insensitive';

COMMENT ON INDEX users_email_key
    IS 'serves users.find_user_by_email and users.upsert_users';

CREATE TRIGGER users_set_updated_at
BEFORE UPDATE ON users
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
