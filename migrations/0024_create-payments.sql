-- Create payments, an append-only ledger: rows are inserted, never updated or deleted.
-- depends: 0023_create-fee-structures

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE FUNCTION reject_ledger_change()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'insert a correcting row instead, such as a refund';
END;
$$;

COMMENT ON FUNCTION reject_ledger_change()
    IS 'BEFORE UPDATE OR DELETE OR TRUNCATE statement trigger of append-only ledgers';

CREATE TABLE payments (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    school_id text NOT NULL REFERENCES schools (id),
    student_id text NOT NULL REFERENCES students (id),
    school_year_id text NOT NULL REFERENCES school_years (id),
    fee_structure_id text REFERENCES fee_structures (id),
    kind text NOT NULL DEFAULT 'payment'
        CHECK (kind IN ('payment', 'refund')),
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    currency text NOT NULL DEFAULT 'XOF' CHECK (currency ~ '^[A-Z]{3}$'),
    method text NOT NULL
        CHECK (method IN ('cash', 'mobile_money', 'bank_transfer', 'cheque', 'card')),
    reference text,
    note text,
    paid_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_school_id_method_reference_key
        UNIQUE (school_id, method, reference)
);

COMMENT ON TABLE payments
    IS 'Append-only ledger of money received and refunded; corrections are new rows';

COMMENT ON COLUMN payments.amount
    IS 'Always positive; kind says the direction: balance = payments - refunds';

COMMENT ON COLUMN payments.reference
    IS 'The operator''s or bank''s transaction id, unique per school and method';

COMMENT ON INDEX payments_school_id_method_reference_key
    IS 'serves payments.find_payment_by_reference and payments.insert_payments';

CREATE TRIGGER payments_reject_change
BEFORE UPDATE OR DELETE OR TRUNCATE ON payments
FOR EACH STATEMENT
EXECUTE FUNCTION reject_ledger_change();
