-- Create user_schools, which gives a user one role in a school.
-- depends: 0002_create-users

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE user_schools (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    user_id text NOT NULL REFERENCES users (id),
    school_id text NOT NULL REFERENCES schools (id),
    role text NOT NULL
        CHECK (role IN ('admin', 'director', 'teacher', 'accountant', 'secretary')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_schools_user_id_school_id_key UNIQUE (user_id, school_id)
);

COMMENT ON TABLE user_schools
    IS 'A user''s role in one school: at most one role per user and school';

COMMENT ON INDEX user_schools_user_id_school_id_key
    IS 'serves users.list_user_schools, users.find_membership_by_user and users.grant_membership';

CREATE INDEX user_schools_school_id_role_idx
    ON user_schools (school_id, role);

COMMENT ON INDEX user_schools_school_id_role_idx
    IS 'serves users.list_school_users';

CREATE TRIGGER user_schools_set_updated_at
BEFORE UPDATE ON user_schools
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
