-- Create students, each identified by a matricule unique within its school.
-- depends: 0014_create-classes

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE students (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    matricule text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    full_name text NOT NULL GENERATED ALWAYS AS (last_name || ' ' || first_name) STORED,
    birth_date date,
    gender text CHECK (gender IN ('M', 'F')),
    status text NOT NULL DEFAULT 'active'
        CHECK (
            status IN ('active', 'withdrawn', 'transferred', 'graduated', 'archived')
        ),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT students_school_id_matricule_key UNIQUE (school_id, matricule)
);

COMMENT ON TABLE students
    IS 'A school''s students; large table: secondary indexes are built concurrently';

COMMENT ON COLUMN students.full_name
    IS 'last_name, a space, first_name: the order lists and report cards sort by';

COMMENT ON INDEX students_school_id_matricule_key
    IS 'serves students.find_student_by_matricule, students.lookup_students and students.upsert_students';

CREATE TRIGGER students_set_updated_at
BEFORE UPDATE ON students
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
