-- Analytics: read-only reports on one school and one school year, for the school's
-- dashboard. Fees due are those of the grade of each confirmed enrollment; money
-- is net of refunds. Aggregate rows have no id: their ORDER BY ends with the whole
-- group key, which is unique per row.
-- Every report may run on a replica (-- replica: ok): a dashboard may be a second
-- behind; callers that must see their own writes use db.consistent_reads().

-- name: list_enrollment_counts :many
-- replica: ok
-- returns: EnrollmentCount
-- notnull: enrollments
-- budget: 10ms
-- Enrollments of a year by grade, series and status, with subtotals per grade and
-- status, per grade, per status, and the grand total (GROUPING SETS; the all_*
-- flags mark which columns a row sums over). Grades in order, subtotals last.
-- Served by classes_school_year_id_name_key, then
-- enrollments_class_id_status_idx per class (a count by status, ANDed with
-- enrollments_school_id_school_year_id_status_idx for the school the tenant lint
-- asks to name): the year's few classes drive, so the plan stays the same whatever
-- the statistics.
SELECT g.code AS grade_code, sr.code AS series_code, e.status,
       GROUPING(g.code) = 1 AS all_grades,
       GROUPING(sr.code) = 1 AS all_series,
       GROUPING(e.status) = 1 AS all_statuses,
       sum(e.enrollments)::bigint AS enrollments
FROM classes AS c
JOIN grades AS g ON g.id = c.grade_id
LEFT JOIN series AS sr ON sr.id = c.series_id
CROSS JOIN LATERAL (
    SELECT status, count(*) AS enrollments
    FROM enrollments
    WHERE class_id = c.id
      AND school_id = :school_id
    GROUP BY status
) AS e
WHERE c.school_id = :school_id
  AND c.school_year_id = :school_year_id
GROUP BY GROUPING SETS (
    (g.sort_order, g.code, sr.code, e.status),
    (g.sort_order, g.code, e.status),
    (g.sort_order, g.code),
    (e.status),
    ()
)
ORDER BY GROUPING(g.code), g.sort_order, g.code, GROUPING(sr.code), sr.code,
         GROUPING(e.status), e.status;

-- name: get_year_fee_collection :one
-- replica: ok
-- returns: YearFeeCollection
-- budget: 10ms
-- A year's fees expected from its confirmed students against what was collected
-- and refunded; collection_rate is net / expected (None when nothing is due).
-- NoRowError when the year is not the school's.
-- Served by school_years_id_school_id_key and classes_school_year_id_name_key, then
-- per class enrollments_class_id_status_idx (a bitmap count, ANDed with a per-school
-- index for the school the tenant lint asks to name) and
-- fee_structures_school_year_id_grade_id_name_key; the ledger by
-- payments_school_id_school_year_id_paid_at_idx (an index-only scan).
WITH due AS (
    SELECT coalesce(sum(e.students), 0)::bigint AS students,
           coalesce(sum(e.students * f.amount), 0) AS expected
    FROM classes AS c
    CROSS JOIN LATERAL (
        SELECT count(*) AS students
        FROM enrollments
        WHERE class_id = c.id
          AND status = 'confirmed'
          AND school_id = :school_id
    ) AS e
    CROSS JOIN LATERAL (
        SELECT sum(amount) AS amount
        FROM fee_structures
        WHERE school_year_id = c.school_year_id
          AND grade_id = c.grade_id
          AND school_id = :school_id
    ) AS f
    WHERE c.school_id = :school_id
      AND c.school_year_id = :school_year_id
),
ledger AS (
    SELECT coalesce(sum(amount) FILTER (WHERE kind = 'payment'), 0) AS collected,
           coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunded
    FROM payments
    WHERE school_id = :school_id
      AND school_year_id = :school_year_id
)
SELECT y.id AS school_year_id, due.students, due.expected, ledger.collected,
       ledger.refunded, ledger.collected - ledger.refunded AS net,
       due.expected - (ledger.collected - ledger.refunded) AS outstanding,
       round((ledger.collected - ledger.refunded) / nullif(due.expected, 0), 4)
           AS collection_rate
FROM school_years AS y
CROSS JOIN due
CROSS JOIN ledger
WHERE y.id = :school_year_id
  AND y.school_id = :school_id;

-- name: list_class_fill_rates :many
-- replica: ok
-- returns: ClassFillRate
-- budget: 10ms
-- Each active class of a year with its confirmed and pending head counts and its
-- fill rate (confirmed / capacity, 3 places; None without a capacity), grades in
-- order.
-- Served by classes_school_year_id_name_key and enrollments_class_id_status_idx.
SELECT c.id AS class_id, c.name AS class_name, g.code AS grade_code,
       sr.code AS series_code, c.capacity,
       count(e.id) FILTER (WHERE e.status = 'confirmed') AS confirmed,
       count(e.id) FILTER (WHERE e.status = 'pending') AS pending,
       round(count(e.id) FILTER (WHERE e.status = 'confirmed')::numeric / c.capacity, 3)
           AS fill_rate
FROM classes AS c
JOIN grades AS g ON g.id = c.grade_id
LEFT JOIN series AS sr ON sr.id = c.series_id
LEFT JOIN enrollments AS e ON e.class_id = c.id
    AND e.school_id = :school_id
    AND e.status IN ('confirmed', 'pending')
WHERE c.school_id = :school_id
  AND c.school_year_id = :school_year_id
  AND c.status = 'active'
GROUP BY c.id, g.sort_order, g.code, sr.code
ORDER BY g.sort_order, c.name, c.id;

-- name: list_top_debtors :many
-- replica: ok
-- returns: TopDebtor
-- budget: 10ms
-- The confirmed students who owe the most for a year: rank() by outstanding, the
-- first :top positions (ties share one, so there may be more rows), with each
-- one's share (%) of everything owed.
-- Served by fee_structures_school_id_school_year_id_idx,
-- classes_school_year_id_name_key, enrollments_class_id_status_idx,
-- payments_school_year_id_idx and payments_school_id_method_reference_key (a bitmap
-- AND), then students_pkey.
WITH grade_due AS (
    SELECT grade_id, sum(amount) AS expected
    FROM fee_structures
    WHERE school_id = :school_id
      AND school_year_id = :school_year_id
    GROUP BY grade_id
),
paid AS (
    SELECT student_id,
           sum(CASE kind WHEN 'payment' THEN amount ELSE -amount END) AS paid
    FROM payments
    WHERE school_id = :school_id
      AND school_year_id = :school_year_id
    GROUP BY student_id
),
owed AS (
    SELECT e.student_id, c.name AS class_name, gd.expected,
           coalesce(paid.paid, 0) AS paid,
           gd.expected - coalesce(paid.paid, 0) AS outstanding
    FROM enrollments AS e
    JOIN classes AS c ON c.id = e.class_id
    JOIN grade_due AS gd ON gd.grade_id = c.grade_id
    LEFT JOIN paid ON paid.student_id = e.student_id
    WHERE e.school_id = :school_id
      AND e.school_year_id = :school_year_id
      AND e.status = 'confirmed'
      AND c.school_id = :school_id
      AND c.school_year_id = :school_year_id
),
ranked AS (
    SELECT student_id, class_name, expected, paid, outstanding,
           rank() OVER (ORDER BY outstanding DESC) AS position,
           round(100 * outstanding / sum(outstanding) OVER (), 2) AS share
    FROM owed
    WHERE outstanding > 0
)
SELECT r.position, r.student_id, s.matricule, s.full_name, r.class_name,
       r.expected, r.paid, r.outstanding, r.share
FROM ranked AS r
JOIN students AS s ON s.id = r.student_id
WHERE r.position <= :top
  AND s.school_id = :school_id
ORDER BY r.position, s.full_name, s.id;

-- name: list_payment_totals :many
-- replica: ok
-- returns: PaymentPeriodTotal
-- notnull: period_start
-- budget: 10ms
-- explain: index-only
-- Money in and out for a year per :period ('day', 'week' or 'month') in
-- :time_zone (an IANA name such as 'Africa/Abidjan'), with the running net.
-- Periods without payments are left out.
-- Served by payments_school_id_school_year_id_paid_at_idx (an index-only scan: it
-- includes kind and amount).
WITH per_period AS (
    SELECT date_trunc(:period::text, p.paid_at AT TIME ZONE :time_zone::text)::date
               AS period_start,
           count(*) AS entries,
           coalesce(sum(p.amount) FILTER (WHERE p.kind = 'payment'), 0) AS collected,
           coalesce(sum(p.amount) FILTER (WHERE p.kind = 'refund'), 0) AS refunded,
           sum(CASE p.kind WHEN 'payment' THEN p.amount ELSE -p.amount END) AS net
    FROM payments AS p
    WHERE p.school_id = :school_id
      AND p.school_year_id = :school_year_id
    GROUP BY period_start
)
SELECT period_start, entries, collected, refunded, net,
       sum(net) OVER (ORDER BY period_start) AS cumulative_net
FROM per_period
ORDER BY period_start;
