-- Create fee_structures, what a school charges per grade and school year.
-- depends: 0022_index-enrollments-pending

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE fee_structures (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    school_year_id text NOT NULL REFERENCES school_years (id),
    grade_id text NOT NULL REFERENCES grades (id),
    name text NOT NULL,
    fee_type text NOT NULL
        CHECK (fee_type IN (
            'registration', 'tuition', 'exam', 'transport', 'canteen', 'uniform',
            'other'
        )),
    amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
    currency text NOT NULL DEFAULT 'XOF' CHECK (currency ~ '^[A-Z]{3}$'),
    due_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fee_structures_school_year_id_grade_id_name_key
        UNIQUE (school_year_id, grade_id, name)
);

COMMENT ON TABLE fee_structures
    IS 'Fees a school charges for a grade in a school year; amounts in currency units';

COMMENT ON INDEX fee_structures_school_year_id_grade_id_name_key
    IS 'serves fees.list_fee_structures, fees.upsert_fee_structures, payments.get_student_balance and analytics.get_year_fee_collection';

CREATE INDEX fee_structures_school_id_school_year_id_idx
    ON fee_structures (school_id, school_year_id);

COMMENT ON INDEX fee_structures_school_id_school_year_id_idx
    IS 'serves fees.lookup_fee_structures, payments.list_class_outstanding and analytics.list_top_debtors';

CREATE INDEX fee_structures_grade_id_idx
    ON fee_structures (grade_id);

COMMENT ON INDEX fee_structures_grade_id_idx
    IS 'serves the grade foreign key (fee_structures_grade_id_fkey) on grade deletes';

CREATE TRIGGER fee_structures_set_updated_at
BEFORE UPDATE ON fee_structures
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
