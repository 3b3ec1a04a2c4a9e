-- Users and memberships: people who sign in are global; user_schools gives each
-- one role per school.

-- name: create_user :one
-- returns: User
-- Create one user from a UserInsert; the email is stored lower-case, so a taken
-- address in any case raises UniqueViolation.
-- Served by users_pkey and users_email_key (uniqueness checks).
INSERT INTO users (id, email, full_name, phone, status)
VALUES (:id, lower(:email), :full_name, :phone, :status)
RETURNING id, email, full_name, phone, status, created_at, updated_at;

-- name: get_user :one
-- returns: User
-- budget: 10ms
-- One user by id.
-- Served by users_pkey.
SELECT id, email, full_name, phone, status, created_at, updated_at
FROM users
WHERE id = :id;

-- name: find_user_by_email :opt
-- returns: User
-- budget: 10ms
-- The user with this email in any case (sign-in, invitations), or None.
-- Served by users_email_key.
SELECT id, email, full_name, phone, status, created_at, updated_at
FROM users
WHERE email = lower(:email);

-- name: update_user_profile :execrows
-- Replace a user's name and phone.
-- Served by users_pkey.
UPDATE users
SET full_name = :full_name,
    phone = :phone
WHERE id = :id;

-- name: update_user_status :execrows
-- Set a user's status (invited, active, suspended, archived); 0 when unchanged.
-- Served by users_pkey.
UPDATE users
SET status = :status
WHERE id = :id
  AND status <> :status;

-- name: upsert_users :execrows
-- Insert or update users by email (a staff import), one array per column:
-- columns_of(inserts, fields=[...]). Emails are lower-cased and must not repeat
-- within a call; a known user keeps their id. Counts only rows inserted or changed.
-- Served by users_email_key.
INSERT INTO users (id, email, full_name, phone)
SELECT id, lower(email), full_name, phone
FROM unnest(:id::text[], :email::text[], :full_name::text[], :phone::text[])
    AS u (id, email, full_name, phone)
ON CONFLICT (email) DO UPDATE
SET full_name = EXCLUDED.full_name,
    phone = EXCLUDED.phone,
    updated_at = now()
WHERE (users.full_name, users.phone)
    IS DISTINCT FROM (EXCLUDED.full_name, EXCLUDED.phone);

-- name: list_school_users :page
-- returns: SchoolMember
-- budget: 10ms
-- A school's users with their role, by name; :role and :search (name or email)
-- narrow the list when not None. :search is text, not a pattern: its '%', '_'
-- and '\' are escaped, so they match only themselves.
-- Served by user_schools_school_id_role_idx, then users_pkey.
SELECT u.id AS user_id, u.email, u.full_name, u.phone, u.status, us.role,
       us.created_at AS member_since,
       count(*) OVER () AS total_count
FROM user_schools AS us
JOIN users AS u ON u.id = us.user_id
WHERE us.school_id = :school_id
  [[ AND us.role = :role ]]
  [[ AND (
      u.full_name ILIKE '%' || replace(
          replace(replace(:search, '\', '\\'), '%', '\%'), '_', '\_'
      ) || '%' ESCAPE '\'
      OR u.email ILIKE '%' || replace(
          replace(replace(:search, '\', '\\'), '%', '\%'), '_', '\_'
      ) || '%' ESCAPE '\'
  ) ]]
ORDER BY u.full_name, u.id
LIMIT :limit OFFSET :offset;

-- name: list_user_schools :many
-- returns: UserSchool
-- tenant: any: a user's memberships span schools (the school picker at sign-in)
-- role: yeko_platform
-- budget: 10ms
-- The schools a user works in, with the role in each, by school name.
-- Served by user_schools_user_id_school_id_key, then schools_pkey.
SELECT s.id AS school_id, s.name, s.code, s.status, us.role
FROM user_schools AS us
JOIN schools AS s ON s.id = us.school_id
WHERE us.user_id = :user_id
ORDER BY s.name, s.id;

-- name: find_membership_by_user :opt
-- returns: Membership
-- budget: 10ms
-- A user's membership in one school (what authorisation checks), or None.
-- Served by user_schools_user_id_school_id_key.
SELECT id, user_id, school_id, role, created_at, updated_at
FROM user_schools
WHERE user_id = :user_id
  AND school_id = :school_id;

-- name: grant_membership :one
-- returns: Membership
-- Give a user a role in a school, or change the role they have there; :id is
-- used only when the membership is new.
-- Served by user_schools_user_id_school_id_key.
INSERT INTO user_schools (id, user_id, school_id, role)
VALUES (:id, :user_id, :school_id, :role)
ON CONFLICT ON CONSTRAINT user_schools_user_id_school_id_key DO UPDATE
SET role = EXCLUDED.role
RETURNING id, user_id, school_id, role, created_at, updated_at;

-- name: update_membership_role :execrows
-- Change the role of an existing member; 0 when not a member or unchanged.
-- Served by user_schools_user_id_school_id_key.
UPDATE user_schools
SET role = :role
WHERE user_id = :user_id
  AND school_id = :school_id
  AND role <> :role;

-- name: delete_membership :execrows
-- Revoke a user's role in a school (the user keeps their account).
-- Served by user_schools_user_id_school_id_key.
DELETE FROM user_schools
WHERE user_id = :user_id
  AND school_id = :school_id;

-- name: upsert_memberships :execrows
-- Give many users a role in one school, one array per column (id, user_id, role;
-- an id is used for a new membership only). Counts only memberships created or
-- whose role changed.
-- Served by user_schools_user_id_school_id_key.
INSERT INTO user_schools (id, user_id, school_id, role)
SELECT id, user_id, :school_id, role
FROM unnest(:id::text[], :user_id::text[], :role::text[]) AS m (id, user_id, role)
ON CONFLICT ON CONSTRAINT user_schools_user_id_school_id_key DO UPDATE
SET role = EXCLUDED.role,
    updated_at = now()
WHERE user_schools.role <> EXCLUDED.role;
