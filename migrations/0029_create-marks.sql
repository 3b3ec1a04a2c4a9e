-- Create marks, students' marks out of 20 per subject and term.
-- depends: 0028_index-payments-by-fee-structure

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE marks (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    student_id text NOT NULL REFERENCES students (id),
    class_id text NOT NULL REFERENCES classes (id),
    subject_id text NOT NULL REFERENCES subjects (id),
    term_id text NOT NULL REFERENCES terms (id),
    kind text NOT NULL
        CHECK (kind IN ('quiz', 'homework', 'test', 'exam')),
    label text,
    value numeric(4, 2) NOT NULL CHECK (value BETWEEN 0 AND 20),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE marks
    IS 'Marks out of 20 per evaluation; large table: indexes are built concurrently';

COMMENT ON COLUMN marks.label
    IS 'Which evaluation of its kind, as the teacher names it (Devoir 2)';

CREATE TRIGGER marks_set_updated_at
BEFORE UPDATE ON marks
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
