-- Payments: the append-only money ledger. A trigger rejects every UPDATE, DELETE
-- and TRUNCATE, so rows are only inserted (ON CONFLICT DO NOTHING, never DO UPDATE)
-- and a mistake is corrected by a refund row. Amounts are positive; the kind gives
-- the direction: net paid = payments - refunds.

-- name: create_payment :one
-- returns: Payment
-- Record one payment or refund (a PaymentInsert; paid_at None: now). No row
-- (NoRowError) when the student, the year or the fee is not the school's; a
-- reference already used for the method raises UniqueViolation.
-- Served by students_pkey, school_years_pkey, fee_structures_pkey and
-- payments_school_id_method_reference_key (uniqueness check).
INSERT INTO payments (id, school_id, student_id, school_year_id, fee_structure_id,
                      kind, amount, currency, method, reference, note, paid_at)
SELECT :id::text, s.school_id, s.id, y.id, :fee_structure_id::text, :kind::text,
       :amount::numeric, :currency::text, :method::text, :reference::text,
       :note::text, coalesce(:paid_at::timestamptz, now())
FROM students AS s
JOIN school_years AS y ON y.id = :school_year_id
WHERE s.id = :student_id
  AND s.school_id = :school_id
  AND y.school_id = :school_id
  AND (
      :fee_structure_id IS NULL
      OR EXISTS (
          SELECT 1
          FROM fee_structures AS f
          WHERE f.id = :fee_structure_id
            AND f.school_id = :school_id
            AND f.school_year_id = y.id
      )
  )
RETURNING id, school_id, student_id, school_year_id, fee_structure_id, kind, amount,
          currency, method, reference, note, paid_at, created_at;

-- name: insert_payments :execrows
-- Import many ledger rows in one statement: one array per PaymentInsert field but
-- school_id, columns_of(inserts, fields=[...]) (a None paid_at: now). Rows whose
-- student, year or fee is not the school's are
-- skipped, and so are ids or (method, reference) pairs already recorded, so a
-- re-run import inserts nothing. Returns how many rows were added.
-- Served by students_pkey, school_years_pkey, fee_structures_pkey, payments_pkey
-- and payments_school_id_method_reference_key (conflict checks).
INSERT INTO payments (id, school_id, student_id, school_year_id, fee_structure_id,
                      kind, amount, currency, method, reference, note, paid_at)
SELECT u.id, s.school_id, s.id, y.id, u.fee_structure_id, u.kind, u.amount,
       u.currency, u.method, u.reference, u.note, coalesce(u.paid_at, now())
FROM unnest(:id::text[], :student_id::text[], :school_year_id::text[],
            :fee_structure_id::text[], :kind::text[], :amount::numeric[],
            :currency::text[], :method::text[], :reference::text[],
            :note::text[], :paid_at::timestamptz[])
    AS u (id, student_id, school_year_id, fee_structure_id, kind, amount, currency,
          method, reference, note, paid_at)
JOIN students AS s ON s.id = u.student_id
JOIN school_years AS y ON y.id = u.school_year_id
WHERE s.school_id = :school_id
  AND y.school_id = :school_id
  AND (
      u.fee_structure_id IS NULL
      OR EXISTS (
          SELECT 1
          FROM fee_structures AS f
          WHERE f.id = u.fee_structure_id
            AND f.school_id = :school_id
            AND f.school_year_id = y.id
      )
  )
ON CONFLICT DO NOTHING;

-- name: get_payment :one
-- returns: Payment
-- budget: 10ms
-- One ledger row of the school by id (a receipt).
-- Served by payments_pkey.
SELECT id, school_id, student_id, school_year_id, fee_structure_id, kind, amount,
       currency, method, reference, note, paid_at, created_at
FROM payments
WHERE id = :id
  AND school_id = :school_id;

-- name: find_payment_by_reference :opt
-- returns: Payment
-- budget: 10ms
-- The ledger row with this operator or bank reference for a method, or None: the
-- receipt lookup when a parent brings a transaction id.
-- Served by payments_school_id_method_reference_key.
SELECT id, school_id, student_id, school_year_id, fee_structure_id, kind, amount,
       currency, method, reference, note, paid_at, created_at
FROM payments
WHERE school_id = :school_id
  AND method = :method
  AND reference = :reference;

-- name: list_student_payments :many
-- returns: Payment
-- budget: 10ms
-- A student's ledger for a year, oldest first: the statement its balance sums.
-- Served by payments_student_id_school_year_id_paid_at_idx.
SELECT id, school_id, student_id, school_year_id, fee_structure_id, kind, amount,
       currency, method, reference, note, paid_at, created_at
FROM payments
WHERE student_id = :student_id
  AND school_year_id = :school_year_id
  AND school_id = :school_id
ORDER BY paid_at, id;

-- name: get_student_balance :one
-- returns: StudentBalance
-- notnull: school_year_id
-- budget: 10ms
-- A student's account for a year: the fees of the grade of its confirmed class,
-- what it paid net of refunds, and what it still owes. NoRowError for an unknown
-- student.
-- Served by students_id_school_id_key,
-- enrollments_student_id_school_year_id_where_confirmed_key,
-- classes_pkey, fee_structures_school_year_id_grade_id_name_key and
-- payments_student_id_school_year_id_paid_at_idx.
SELECT s.id AS student_id, :school_year_id::text AS school_year_id,
       due.expected, led.paid, due.expected - led.paid AS outstanding
FROM students AS s
CROSS JOIN LATERAL (
    SELECT coalesce(sum(f.amount), 0) AS expected
    FROM enrollments AS e
    JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id
    JOIN fee_structures AS f ON f.school_year_id = e.school_year_id
        AND f.grade_id = c.grade_id
    WHERE e.student_id = s.id
      AND e.school_year_id = :school_year_id
      AND e.school_id = :school_id
      AND e.status = 'confirmed'
      AND f.school_id = :school_id
) AS due
CROSS JOIN LATERAL (
    SELECT coalesce(sum(CASE p.kind WHEN 'payment' THEN p.amount ELSE -p.amount END),
                    0) AS paid
    FROM payments AS p
    WHERE p.student_id = s.id
      AND p.school_year_id = :school_year_id
      AND p.school_id = :school_id
) AS led
WHERE s.id = :student_id
  AND s.school_id = :school_id;

-- name: count_school_payments :scalar
-- budget: 10ms
-- explain: index-only
-- How many ledger rows the school recorded in [:paid_from, :paid_to) (None: open);
-- the total for list_school_payments.
-- Served by payments_school_id_paid_at_id_idx (an index-only scan).
SELECT count(*)
FROM payments
WHERE school_id = :school_id
  AND paid_at >= coalesce(:paid_from::timestamptz, '-infinity')
  AND paid_at < coalesce(:paid_to::timestamptz, 'infinity');

-- name: list_school_payments :keyset
-- returns: PaymentLine
-- budget: 10ms
-- The school's cash journal in [:paid_from, :paid_to) (None: open), oldest first,
-- one seek page after (:after_paid_at, :after_id) (both None for the first page).
-- Served by payments_school_id_paid_at_id_idx, walked in order from the seek position,
-- then students_id_school_id_key.
SELECT p.id, p.school_id, p.student_id, p.school_year_id, p.fee_structure_id,
       p.kind, p.amount, p.currency, p.method, p.reference, p.note, p.paid_at,
       p.created_at, s.matricule, s.full_name
FROM payments AS p
JOIN students AS s ON s.school_id = p.school_id AND s.id = p.student_id
WHERE p.school_id = :school_id
  AND p.paid_at >= coalesce(:paid_from::timestamptz, '-infinity')
  AND p.paid_at < coalesce(:paid_to::timestamptz, 'infinity')
  AND (p.paid_at, p.id) > (
      coalesce(:after_paid_at::timestamptz, '-infinity'),
      coalesce(:after_id::text, '')
  )
ORDER BY p.paid_at, p.id
LIMIT :limit;

-- name: list_class_outstanding :many
-- returns: StudentOutstanding
-- budget: 10ms
-- Each student confirmed in a class with the fees due for the class's grade and
-- year, what was paid net of refunds, and what is still owed, by name. With
-- :only_unpaid, only the students who still owe something.
-- Served by classes_pkey, enrollments_class_id_status_idx, students_pkey,
-- fee_structures_school_id_school_year_id_idx and
-- payments_student_id_school_year_id_paid_at_idx.
WITH cls AS (
    SELECT id, school_year_id, grade_id
    FROM classes
    WHERE id = :class_id
      AND school_id = :school_id
),
-- Materialized: computed once, not once per student of the class.
due AS MATERIALIZED (
    SELECT coalesce(sum(f.amount), 0) AS expected
    FROM cls
    JOIN fee_structures AS f ON f.school_year_id = cls.school_year_id
        AND f.grade_id = cls.grade_id
    WHERE f.school_id = :school_id
)
SELECT s.id AS student_id, s.matricule, s.full_name, due.expected, led.paid,
       due.expected - led.paid AS outstanding, led.last_paid_at
FROM cls
JOIN enrollments AS e ON e.class_id = cls.id AND e.school_id = :school_id
JOIN students AS s ON s.school_id = e.school_id AND s.id = e.student_id
CROSS JOIN due
CROSS JOIN LATERAL (
    SELECT coalesce(sum(CASE p.kind WHEN 'payment' THEN p.amount ELSE -p.amount END),
                    0) AS paid,
           max(p.paid_at) FILTER (WHERE p.kind = 'payment') AS last_paid_at
    FROM payments AS p
    WHERE p.student_id = s.id
      AND p.school_year_id = cls.school_year_id
      AND p.school_id = :school_id
) AS led
WHERE e.status = 'confirmed'
  AND (NOT :only_unpaid::boolean OR due.expected - led.paid > 0)
ORDER BY s.full_name, s.id;
