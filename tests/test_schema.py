"""Yeko's schema, as the migrations build it, enforces what it promises."""

from __future__ import annotations

from datetime import datetime

import nanoid
import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]

# Tables shared by every school: no school_id (jobs' is optional: a job may span
# schools). Every other table is school-owned and carries the tenant key.
GLOBAL_TABLES = {
    "schools",
    "users",
    "school_year_templates",
    "tracks",
    "grades",
    "series",
    "subjects",
    "program_templates",
    "program_template_chapters",
    "coefficient_templates",
    "jobs",
}
SCHOOL_TABLES = {
    "user_schools",
    "school_years",
    "terms",
    "classes",
    "students",
    "enrollments",
    "fee_structures",
    "payments",
    "marks",
}
# Bookkeeping of yoyo and of yeko_sql.ops.migrate, not part of the schema.
BOOKKEEPING_PREFIXES = ("_yoyo", "yoyo_", "yeko_")
ENUM_COLUMNS = {"status", "role", "kind", "method", "category", "fee_type", "gender"}


def new_id() -> str:
    return str(nanoid.generate())


def insert(pg: Conn, table: str, **values: object) -> str:
    """Insert one row into *table*; return its id (a fresh nanoid unless given)."""
    values = {"id": new_id(), **values}
    query = sql.SQL(
        "INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING id"
    ).format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, values)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    row = pg.execute(query, list(values.values())).fetchone()
    assert row is not None
    return str(row[0])


def make_world(pg: Conn) -> dict[str, str]:
    """One row in every table, linked together; returns each table's row id."""
    ids: dict[str, str] = {}
    ids["schools"] = school = insert(pg, "schools", name="Lycee Moderne", code=new_id())
    ids["users"] = insert(
        pg, "users", email=f"{new_id().lower()}@example.org", full_name="Awa Kone"
    )
    ids["user_schools"] = insert(
        pg, "user_schools", user_id=ids["users"], school_id=school, role="teacher"
    )
    ids["school_year_templates"] = template = insert(
        pg,
        "school_year_templates",
        name="2025-2026",
        starts_on="2025-09-01",
        ends_on="2026-07-31",
    )
    ids["school_years"] = year = insert(
        pg,
        "school_years",
        school_id=school,
        school_year_template_id=template,
        name="2025-2026",
        starts_on="2025-09-01",
        ends_on="2026-07-31",
    )
    ids["terms"] = insert(
        pg,
        "terms",
        school_id=school,
        school_year_id=year,
        name="Premier trimestre",
        sort_order=1,
        starts_on="2025-09-01",
        ends_on="2025-12-19",
    )
    ids["tracks"] = track = insert(pg, "tracks", name="Second cycle", code="SC")
    ids["grades"] = grade = insert(
        pg, "grades", track_id=track, name="Tle", code="TLE", sort_order=7
    )
    ids["series"] = series = insert(
        pg, "series", track_id=track, name="Serie D", code="D"
    )
    ids["subjects"] = subject = insert(
        pg, "subjects", name="Mathematiques", short_name="Maths", category="scientific"
    )
    ids["program_templates"] = program = insert(
        pg,
        "program_templates",
        school_year_template_id=template,
        grade_id=grade,
        subject_id=subject,
        name="Maths Tle D",
    )
    ids["program_template_chapters"] = insert(
        pg,
        "program_template_chapters",
        program_template_id=program,
        title="Limites et continuite",
        sort_order=1,
        duration_hours=12,
    )
    ids["coefficient_templates"] = insert(
        pg,
        "coefficient_templates",
        school_year_template_id=template,
        grade_id=grade,
        series_id=series,
        subject_id=subject,
        weight=4,
    )
    ids["classes"] = klass = insert(
        pg,
        "classes",
        school_id=school,
        school_year_id=year,
        grade_id=grade,
        series_id=series,
        name="Tle D1",
        capacity=60,
    )
    ids["students"] = student = insert(
        pg,
        "students",
        school_id=school,
        matricule="21345678A",
        first_name="Yao",
        last_name="Kouassi",
        gender="M",
    )
    ids["enrollments"] = insert(
        pg,
        "enrollments",
        school_id=school,
        student_id=student,
        class_id=klass,
        school_year_id=year,
    )
    ids["fee_structures"] = fee = insert(
        pg,
        "fee_structures",
        school_id=school,
        school_year_id=year,
        grade_id=grade,
        name="Scolarite",
        fee_type="tuition",
        amount="150000",
    )
    ids["payments"] = insert(
        pg,
        "payments",
        school_id=school,
        student_id=student,
        school_year_id=year,
        fee_structure_id=fee,
        amount="50000",
        method="mobile_money",
        reference="MM-1",
    )
    ids["marks"] = insert(
        pg,
        "marks",
        school_id=school,
        student_id=student,
        class_id=klass,
        subject_id=subject,
        term_id=ids["terms"],
        kind="test",
        label="Devoir 1",
        value="14.50",
    )
    ids["jobs"] = insert(pg, "jobs", kind="recompute_averages")
    return ids


def user_tables(pg: Conn) -> set[str]:
    rows = pg.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    ).fetchall()
    return {name for (name,) in rows if not name.startswith(BOOKKEEPING_PREFIXES)}


def test_schema_has_exactly_the_known_global_and_school_tables(pg: Conn) -> None:
    assert user_tables(pg) == GLOBAL_TABLES | SCHOOL_TABLES


def test_a_row_fits_in_every_table(pg: Conn) -> None:
    assert set(make_world(pg)) == user_tables(pg)


def test_every_school_owned_table_has_a_not_null_school_id_referencing_schools(
    pg: Conn,
) -> None:
    rows = pg.execute(
        """
        SELECT c.relname, a.attnotnull, EXISTS (
            SELECT 1
            FROM pg_constraint AS f
            WHERE f.conrelid = c.oid
              AND f.contype = 'f'
              AND f.conkey = ARRAY[a.attnum]
              AND f.confrelid = 'schools'::regclass
        )
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'school_id'
        WHERE n.nspname = 'public'
          AND c.relkind = 'r'
          AND NOT a.attisdropped
        """
    ).fetchall()
    school_id = {table: (not_null, references) for table, not_null, references in rows}
    assert {table: school_id.get(table) for table in SCHOOL_TABLES} == dict.fromkeys(
        SCHOOL_TABLES, (True, True)
    )
    assert school_id["jobs"] == (False, True)


def test_every_foreign_key_is_backed_by_an_index_that_leads_with_its_columns(
    pg: Conn,
) -> None:
    """A tenant key (school_id, class_id) may be backed by an index on class_id:
    a class's id implies its school, so that index finds the rows the check on
    a class delete looks for, and a second index would only cost every insert."""
    foreign_keys = pg.execute(
        """
        SELECT conrelid::regclass::text, conname,
               array(SELECT k FROM unnest(conkey) AS k
                     WHERE cardinality(conkey) = 1
                        OR k <> (SELECT attnum FROM pg_attribute
                                 WHERE attrelid = conrelid
                                   AND attname = 'school_id'))::int[]
        FROM pg_constraint
        WHERE contype = 'f'
          AND connamespace = 'public'::regnamespace
        """
    ).fetchall()
    indexes = pg.execute(
        """
        SELECT indrelid::regclass::text, indkey::int2[]::int[]
        FROM pg_index
        JOIN pg_class ON pg_class.oid = indexrelid
        WHERE relnamespace = 'public'::regnamespace
          AND indpred IS NULL
        """
    ).fetchall()
    assert foreign_keys
    unbacked = [
        name
        for table, name, columns in foreign_keys
        if not any(
            on == table and set(keys[: len(columns)]) == set(columns)
            for on, keys in indexes
        )
    ]
    assert unbacked == []


TENANT_KEYS = [
    ("terms", "school_year_id", "school_years"),
    ("classes", "school_year_id", "school_years"),
    ("enrollments", "student_id", "students"),
    ("enrollments", "class_id", "classes"),
    ("enrollments", "school_year_id", "school_years"),
    ("fee_structures", "school_year_id", "school_years"),
    ("payments", "student_id", "students"),
    ("payments", "school_year_id", "school_years"),
    ("payments", "fee_structure_id", "fee_structures"),
    ("marks", "student_id", "students"),
    ("marks", "class_id", "classes"),
    ("marks", "term_id", "terms"),
]


def test_every_foreign_key_between_school_owned_tables_carries_school_id(
    pg: Conn,
) -> None:
    rows = pg.execute(
        """
        SELECT conrelid::regclass::text, confrelid::regclass::text,
               array(SELECT attname FROM unnest(conkey) WITH ORDINALITY AS k (n, i)
                     JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n
                     ORDER BY k.i),
               array(SELECT attname FROM unnest(confkey) WITH ORDINALITY AS k (n, i)
                     JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n
                     ORDER BY k.i),
               convalidated
        FROM pg_constraint
        WHERE contype = 'f'
          AND connamespace = 'public'::regnamespace
          AND conrelid::regclass::text = ANY(%s)
          AND confrelid::regclass::text = ANY(%s)
        ORDER BY 1, 3
        """,
        [sorted(SCHOOL_TABLES), sorted(SCHOOL_TABLES)],
    ).fetchall()
    assert sorted(rows) == sorted(
        (table, parent, ["school_id", column], ["school_id", "id"], True)
        for table, column, parent in TENANT_KEYS
    )


def make_other_school(pg: Conn, ids: dict[str, str]) -> dict[str, str]:
    """A second school beside ``make_world``'s, on the same catalog: a year, a
    term, a class, a student and a fee, none clashing with the first's keys."""
    school = insert(pg, "schools", name="College Voltaire", code=new_id())
    year = insert(
        pg,
        "school_years",
        school_id=school,
        school_year_template_id=ids["school_year_templates"],
        name="2025-2026",
        starts_on="2025-09-01",
        ends_on="2026-07-31",
    )
    return {
        "schools": school,
        "school_years": year,
        "terms": insert(
            pg,
            "terms",
            school_id=school,
            school_year_id=year,
            name="Deuxieme trimestre",
            sort_order=2,
            starts_on="2026-01-05",
            ends_on="2026-03-27",
        ),
        "classes": insert(
            pg,
            "classes",
            school_id=school,
            school_year_id=year,
            grade_id=ids["grades"],
            name="Tle D2",
        ),
        "students": insert(
            pg,
            "students",
            school_id=school,
            matricule="98765432B",
            first_name="Adjoua",
            last_name="Kone",
        ),
        "fee_structures": insert(
            pg,
            "fee_structures",
            school_id=school,
            school_year_id=year,
            grade_id=ids["grades"],
            name="Inscription",
            fee_type="registration",
            amount="10000",
        ),
    }


@pytest.mark.parametrize(
    ("table", "column", "parent"),
    TENANT_KEYS,
    ids=[f"{table}.{column}" for table, column, _ in TENANT_KEYS],
)
def test_a_row_cannot_point_at_another_schools_row(
    pg: Conn, table: str, column: str, parent: str
) -> None:
    """Not even as the owner, whom RLS does not hold: the key itself refuses."""
    mine = make_world(pg)
    theirs = make_other_school(pg, mine)
    if table == "payments":  # append-only: a new row rather than an update
        row: dict[str, object] = {
            "school_id": mine["schools"],
            "student_id": mine["students"],
            "school_year_id": mine["school_years"],
            "fee_structure_id": mine["fee_structures"],
            "amount": "1000",
            "method": "cash",
        }
        insert(pg, "payments", **row)  # every parent of its own school: accepted
        row[column] = theirs[parent]
        with pytest.raises(errors.ForeignKeyViolation) as caught, pg.transaction():
            insert(pg, "payments", **row)
    else:
        query = sql.SQL("UPDATE {table} SET {column} = %s WHERE id = %s").format(
            table=sql.Identifier(table), column=sql.Identifier(column)
        )
        pg.execute(query, [mine[parent], mine[table]])  # its own school: accepted
        with pytest.raises(errors.ForeignKeyViolation) as caught, pg.transaction():
            pg.execute(query, [theirs[parent], mine[table]])
    assert caught.value.diag.constraint_name == f"{table}_school_id_{column}_fkey"


def test_no_column_is_a_floating_point_or_money_type(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT table_name, column_name, data_type
        FROM information_schema.columns
        WHERE table_schema = 'public'
          AND data_type IN ('real', 'double precision', 'money')
        """
    ).fetchall()
    assert rows == []


def test_amounts_are_exact_numerics(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT table_name, data_type, numeric_scale
        FROM information_schema.columns
        WHERE table_schema = 'public'
          AND column_name = 'amount'
        ORDER BY table_name
        """
    ).fetchall()
    assert rows == [("fee_structures", "numeric", 2), ("payments", "numeric", 2)]


def test_every_enum_like_column_has_a_check_constraint(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT c.relname, a.attname
        FROM pg_attribute AS a
        JOIN pg_class AS c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind = 'r'
          AND a.attname = ANY(%s)
          AND NOT EXISTS (
              SELECT 1
              FROM pg_constraint AS k
              WHERE k.conrelid = c.oid
                AND k.contype = 'c'
                AND a.attnum = ANY(k.conkey)
          )
        """,
        [sorted(ENUM_COLUMNS)],
    ).fetchall()
    assert rows == []


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("schools", "status"),
        ("users", "status"),
        ("user_schools", "role"),
        ("school_years", "status"),
        ("subjects", "category"),
        ("program_templates", "status"),
        ("classes", "status"),
        ("students", "status"),
        ("students", "gender"),
        ("enrollments", "status"),
        ("fee_structures", "fee_type"),
        ("marks", "kind"),
        ("jobs", "status"),
    ],
)
def test_an_unknown_status_is_rejected(pg: Conn, table: str, column: str) -> None:
    row_id = make_world(pg)[table]
    query = sql.SQL("UPDATE {table} SET {column} = 'bogus' WHERE id = %s").format(
        table=sql.Identifier(table), column=sql.Identifier(column)
    )
    with pytest.raises(errors.CheckViolation):
        pg.execute(query, [row_id])


@pytest.mark.parametrize(("column", "value"), [("kind", "gift"), ("method", "barter")])
def test_a_payment_with_an_unknown_kind_or_method_is_rejected(
    pg: Conn, column: str, value: str
) -> None:
    ids = make_world(pg)
    row = {"kind": "payment", "method": "cash", column: value}
    with pytest.raises(errors.CheckViolation):
        insert(
            pg,
            "payments",
            school_id=ids["schools"],
            student_id=ids["students"],
            school_year_id=ids["school_years"],
            amount="1000",
            **row,
        )


def test_an_id_that_is_not_21_characters_is_rejected(pg: Conn) -> None:
    with pytest.raises(errors.CheckViolation):
        insert(pg, "schools", id="school-1", name="Short id", code="S1")


def test_a_second_confirmed_enrollment_for_the_same_student_and_year_is_rejected(
    pg: Conn,
) -> None:
    ids = make_world(pg)
    confirmed = {
        "school_id": ids["schools"],
        "student_id": ids["students"],
        "class_id": ids["classes"],
        "school_year_id": ids["school_years"],
        "status": "confirmed",
        "confirmed_at": datetime(2025, 9, 2).astimezone(),
    }
    insert(pg, "enrollments", **confirmed)
    with pytest.raises(errors.UniqueViolation) as caught:
        insert(pg, "enrollments", **confirmed)
    assert caught.value.diag.constraint_name == (
        "enrollments_student_id_school_year_id_where_confirmed_key"
    )


def test_several_pending_enrollments_for_one_student_and_year_are_allowed(
    pg: Conn,
) -> None:
    ids = make_world(pg)  # already holds one pending enrollment
    insert(
        pg,
        "enrollments",
        school_id=ids["schools"],
        student_id=ids["students"],
        class_id=ids["classes"],
        school_year_id=ids["school_years"],
    )
    count = pg.execute(
        "SELECT count(*) FROM enrollments WHERE student_id = %s AND status = 'pending'",
        [ids["students"]],
    ).fetchone()
    assert count == (2,)


def test_a_confirmed_enrollment_needs_its_confirmation_time(pg: Conn) -> None:
    ids = make_world(pg)
    with pytest.raises(errors.CheckViolation):
        pg.execute(
            "UPDATE enrollments SET status = 'confirmed' WHERE id = %s",
            [ids["enrollments"]],
        )
    pg.execute(
        "UPDATE enrollments SET status = 'confirmed', confirmed_at = now() "
        "WHERE id = %s",
        [ids["enrollments"]],
    )


def test_a_foreign_key_to_a_missing_row_is_rejected(pg: Conn) -> None:
    ids = make_world(pg)
    with pytest.raises(errors.ForeignKeyViolation):
        insert(
            pg,
            "enrollments",
            school_id=ids["schools"],
            student_id=ids["students"],
            class_id=new_id(),
            school_year_id=ids["school_years"],
        )


def test_a_school_owned_row_of_an_unknown_school_is_rejected(pg: Conn) -> None:
    with pytest.raises(errors.ForeignKeyViolation):
        insert(
            pg,
            "students",
            school_id=new_id(),
            matricule="X1",
            first_name="Ama",
            last_name="Yao",
        )


@pytest.mark.parametrize("amount", ["0", "-500"])
def test_a_payment_of_zero_or_less_is_rejected(pg: Conn, amount: str) -> None:
    ids = make_world(pg)
    with pytest.raises(errors.CheckViolation):
        insert(
            pg,
            "payments",
            school_id=ids["schools"],
            student_id=ids["students"],
            school_year_id=ids["school_years"],
            amount=amount,
            method="cash",
        )


def test_a_refund_is_a_positive_row_of_kind_refund(pg: Conn) -> None:
    ids = make_world(pg)  # holds a payment of 50000
    insert(
        pg,
        "payments",
        school_id=ids["schools"],
        student_id=ids["students"],
        school_year_id=ids["school_years"],
        kind="refund",
        amount="20000",
        method="cash",
    )
    balance = pg.execute(
        """
        SELECT sum(CASE kind WHEN 'refund' THEN -amount ELSE amount END)
        FROM payments
        WHERE student_id = %s
        """,
        [ids["students"]],
    ).fetchone()
    assert balance is not None
    assert balance[0] == 30000


def test_a_negative_fee_is_rejected_but_a_free_one_is_allowed(pg: Conn) -> None:
    ids = make_world(pg)
    fee = {
        "school_id": ids["schools"],
        "school_year_id": ids["school_years"],
        "grade_id": ids["grades"],
        "fee_type": "exam",
    }
    with pytest.raises(errors.CheckViolation):
        insert(pg, "fee_structures", name="Examen blanc", amount="-1", **fee)
    insert(pg, "fee_structures", name="Examen blanc", amount="0", **fee)


@pytest.mark.parametrize("value", ["-0.25", "20.25"])
def test_a_mark_outside_0_to_20_is_rejected(pg: Conn, value: str) -> None:
    ids = make_world(pg)
    with pytest.raises(errors.CheckViolation):
        pg.execute("UPDATE marks SET value = %s WHERE id = %s", [value, ids["marks"]])


def test_a_second_active_school_year_for_one_school_is_rejected(pg: Conn) -> None:
    ids = make_world(pg)
    pg.execute(
        "UPDATE school_years SET status = 'active' WHERE id = %s", [ids["school_years"]]
    )
    template = insert(
        pg,
        "school_year_templates",
        name="2026-2027",
        starts_on="2026-09-01",
        ends_on="2027-07-31",
    )
    with pytest.raises(errors.UniqueViolation):
        insert(
            pg,
            "school_years",
            school_id=ids["schools"],
            school_year_template_id=template,
            name="2026-2027",
            starts_on="2026-09-01",
            ends_on="2027-07-31",
            status="active",
        )


def test_another_school_may_have_its_own_active_school_year(pg: Conn) -> None:
    ids = make_world(pg)
    pg.execute(
        "UPDATE school_years SET status = 'active' WHERE id = %s", [ids["school_years"]]
    )
    other = insert(pg, "schools", name="College Voltaire", code=new_id())
    insert(
        pg,
        "school_years",
        school_id=other,
        school_year_template_id=ids["school_year_templates"],
        name="2025-2026",
        starts_on="2025-09-01",
        ends_on="2026-07-31",
        status="active",
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payments SET amount = amount + 1",
        "UPDATE payments SET note = 'no match' WHERE false",
        "DELETE FROM payments",
        "TRUNCATE payments",
    ],
)
def test_payments_reject_update_delete_and_truncate(pg: Conn, statement: str) -> None:
    make_world(pg)
    with pytest.raises(errors.RestrictViolation, match="payments is append-only"):
        pg.execute(statement)
    assert pg.execute("SELECT count(*) FROM payments").fetchone() == (1,)


def test_payments_have_no_updated_at_and_every_other_table_does(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT table_name
        FROM information_schema.columns
        WHERE table_schema = 'public'
          AND column_name = 'updated_at'
        """
    ).fetchall()
    assert {name for (name,) in rows} == user_tables(pg) - {"payments"}


def test_every_table_with_updated_at_has_the_set_updated_at_trigger(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT tgrelid::regclass::text, pg_get_triggerdef(oid)
        FROM pg_trigger
        WHERE tgfoid = 'set_updated_at()'::regprocedure
          AND NOT tgisinternal
        """
    ).fetchall()
    assert {name for name, _ in rows} == user_tables(pg) - {"payments"}
    # Skipped (no PL/pgSQL call) where the statement already set now() itself.
    for name, definition in rows:
        assert "WHEN ((new.updated_at IS DISTINCT FROM now()))" in definition, name


def test_a_statement_setting_updated_at_to_now_skips_the_trigger_function(
    pg: Conn,
) -> None:
    pg.execute("SET track_functions = 'pl'")
    long_ago = datetime(2000, 1, 1).astimezone()
    schools = [
        insert(pg, "schools", name=name, code=new_id(), updated_at=long_ago)
        for name in ("Lycee Moderne", "College Sainte Marie")
    ]

    def calls() -> int:
        pg.execute("SELECT pg_stat_clear_snapshot()")
        row = pg.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
            "WHERE funcname = 'set_updated_at'"
        ).fetchone()
        assert row is not None
        return int(row[0])

    with pg.transaction():
        before = calls()
        pg.execute(
            "UPDATE schools SET city = 'Korhogo', updated_at = now() WHERE id = %s",
            [schools[0]],
        )
        assert calls() == before
        pg.execute("UPDATE schools SET city = 'Bouake' WHERE id = %s", [schools[1]])
        assert calls() == before + 1
        rows = pg.execute(
            "SELECT updated_at = now() FROM schools WHERE id = ANY(%s)", [schools]
        ).fetchall()
    assert rows == [(True,), (True,)]


def test_updated_at_advances_to_the_update_transaction_time(pg: Conn) -> None:
    long_ago = datetime(2000, 1, 1).astimezone()
    school = insert(
        pg,
        "schools",
        name="Lycee Classique",
        code=new_id(),
        created_at=long_ago,
        updated_at=long_ago,
    )
    row = pg.execute(
        "UPDATE schools SET name = 'Lycee Classique d''Abidjan' WHERE id = %s "
        "RETURNING created_at, updated_at, now()",
        [school],
    ).fetchone()
    assert row is not None
    created_at, updated_at, now = row
    assert created_at == long_ago
    assert updated_at == now
    assert updated_at > long_ago


def test_updated_at_cannot_be_set_by_hand(pg: Conn) -> None:
    school = insert(pg, "schools", name="Lycee Classique", code=new_id())
    row = pg.execute(
        "UPDATE schools SET updated_at = '2000-01-01' WHERE id = %s "
        "RETURNING updated_at = now()",
        [school],
    ).fetchone()
    assert row == (True,)


def test_coefficient_lookup_treats_a_missing_series_as_one_key(pg: Conn) -> None:
    ids = make_world(pg)
    key = {
        "school_year_template_id": ids["school_year_templates"],
        "grade_id": ids["grades"],
        "subject_id": ids["subjects"],
    }
    insert(pg, "coefficient_templates", weight=2, **key)
    with pytest.raises(errors.UniqueViolation):
        insert(pg, "coefficient_templates", weight=3, **key)


def test_coefficients_can_be_upserted_on_the_lookup_key(pg: Conn) -> None:
    ids = make_world(pg)
    upsert = """
        INSERT INTO coefficient_templates (
            id, school_year_template_id, grade_id, series_id, subject_id, weight
        )
        SELECT *
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                    %s::smallint[])
        ON CONFLICT (school_year_template_id, grade_id, series_id, subject_id)
        DO UPDATE SET weight = EXCLUDED.weight
    """
    key = [
        [ids["school_year_templates"]] * 2,
        [ids["grades"]] * 2,
        [ids["series"], None],
        [ids["subjects"]] * 2,
    ]
    pg.execute(upsert, [[new_id(), new_id()], *key, [5, 1]])
    pg.execute(upsert, [[new_id(), new_id()], *key, [6, 2]])
    rows = pg.execute(
        "SELECT series_id IS NULL, weight FROM coefficient_templates ORDER BY 1"
    ).fetchall()
    assert rows == [(False, 6), (True, 2)]


def test_a_matricule_is_unique_within_a_school_only(pg: Conn) -> None:
    ids = make_world(pg)
    with pytest.raises(errors.UniqueViolation):
        insert(
            pg,
            "students",
            school_id=ids["schools"],
            matricule="21345678A",
            first_name="Adjoua",
            last_name="Kouassi",
        )
    other = insert(pg, "schools", name="College Voltaire", code=new_id())
    insert(
        pg,
        "students",
        school_id=other,
        matricule="21345678A",
        first_name="Adjoua",
        last_name="Kouassi",
    )


def test_a_student_full_name_is_last_name_then_first_name(pg: Conn) -> None:
    ids = make_world(pg)
    row = pg.execute(
        "SELECT full_name FROM students WHERE id = %s", [ids["students"]]
    ).fetchone()
    assert row == ("Kouassi Yao",)


def test_user_emails_must_be_lower_case(pg: Conn) -> None:
    with pytest.raises(errors.CheckViolation):
        insert(pg, "users", email="Awa.Kone@example.org", full_name="Awa Kone")


def test_a_running_job_must_say_who_holds_it(pg: Conn) -> None:
    job = make_world(pg)["jobs"]
    with pytest.raises(errors.CheckViolation):
        pg.execute("UPDATE jobs SET status = 'running' WHERE id = %s", [job])
    pg.execute(
        "UPDATE jobs SET status = 'running', locked_by = 'worker-1', locked_at = now() "
        "WHERE id = %s",
        [job],
    )


@pytest.mark.parametrize("kind", ["Recompute", "fees-remind", "fees.", ""])
def test_a_job_kind_must_be_a_dotted_snake_case_name(pg: Conn, kind: str) -> None:
    insert(pg, "jobs", kind="fees.remind_parents")
    with pytest.raises(errors.CheckViolation):
        insert(pg, "jobs", kind=kind)


def test_every_index_names_the_query_it_serves(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT i.indexrelid::regclass::text,
               obj_description(i.indexrelid, 'pg_class')
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace
          AND NOT i.indisprimary
        """
    ).fetchall()
    tables = user_tables(pg)
    missing = [
        name
        for name, comment in rows
        if name.startswith(tuple(f"{table}_" for table in tables))
        and not (comment or "").startswith("serves ")
    ]
    assert missing == []


def test_every_index_is_valid(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT indexrelid::regclass::text
        FROM pg_index
        JOIN pg_class ON pg_class.oid = indexrelid
        WHERE relnamespace = 'public'::regnamespace
          AND NOT (indisvalid AND indisready)
        """
    ).fetchall()
    assert rows == []


def test_index_names_use_postgres_suffixes(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT c.relname, ic.relname, i.indisprimary, i.indisunique,
               i.indpred IS NOT NULL
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indrelid
        JOIN pg_class AS ic ON ic.oid = i.indexrelid
        WHERE c.relnamespace = 'public'::regnamespace
        """
    ).fetchall()
    tables = user_tables(pg)
    wrong = []
    for table, name, primary, unique, partial in rows:
        if table not in tables:
            continue
        suffix = "_pkey" if primary else "_key" if unique else "_idx"
        if (
            not name.startswith(f"{table}_")
            or not name.endswith(suffix)
            or partial != ("_where_" in name)
        ):
            wrong.append(name)
    assert wrong == []


def test_constraint_names_use_postgres_suffixes(pg: Conn) -> None:
    rows = pg.execute(
        """
        SELECT k.conrelid::regclass::text, k.conname, k.contype,
               array_agg(a.attname ORDER BY u.ord)
        FROM pg_constraint AS k
        CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u (attnum, ord)
        JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
        WHERE k.connamespace = 'public'::regnamespace
        GROUP BY k.conrelid, k.conname, k.contype
        """
    ).fetchall()
    tables = user_tables(pg)
    suffixes = {"p": "_pkey", "f": "_fkey", "u": "_key", "c": "_check"}
    wrong = []
    for table, name, kind, columns in rows:
        if table not in tables:
            continue
        exact = {"p": f"{table}_pkey", "f": f"{table}_{'_'.join(columns)}_fkey"}
        if kind in exact:
            ok = name == exact[kind]
        else:
            ok = name.startswith(f"{table}_") and name.endswith(suffixes[kind])
        if not ok:
            wrong.append(name)
    assert wrong == []
