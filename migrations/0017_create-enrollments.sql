-- Create enrollments, a student in a class for a year; one confirmed per year.
-- depends: 0016_index-students-by-name

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE enrollments (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    student_id text NOT NULL REFERENCES students (id),
    class_id text NOT NULL REFERENCES classes (id),
    school_year_id text NOT NULL REFERENCES school_years (id),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'confirmed', 'cancelled', 'transferred')),
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    cancelled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT enrollments_status_confirmed_at_check
        CHECK (status <> 'confirmed' OR confirmed_at IS NOT NULL),
    CONSTRAINT enrollments_status_cancelled_at_check
        CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);

COMMENT ON TABLE enrollments
    IS 'A student in a class for a school year; large table: indexes built concurrently';

CREATE UNIQUE INDEX enrollments_student_id_school_year_id_where_confirmed_key
    ON enrollments (student_id, school_year_id)
    WHERE status = 'confirmed';

COMMENT ON INDEX enrollments_student_id_school_year_id_where_confirmed_key
    IS 'serves fees.get_student_expected_fees, payments.get_student_balance and marks.list_class_ranking: one confirmed per student and year';

CREATE TRIGGER enrollments_set_updated_at
BEFORE UPDATE ON enrollments
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
