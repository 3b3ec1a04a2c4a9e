"""Write workloads: bulk insert, batch upsert, set-based update.

Each case starts from what its library's user holds (Structs for yeko-sql,
tuples or dicts for the others, built once, untimed) and a ``reset`` puts the
table back, untimed, before every sample.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects.postgresql import insert as pg_insert

from benchmarks.data import SCHOOL_ID, Sizes, student_id
from benchmarks.harness import Group
from benchmarks.peers import Bench
from yeko_sql.bulk.copy import columns_of, copy_structs
from yeko_sql.yeko.domain.students import StudentInsert

__all__ = ["bulk_insert_group", "update_group", "upsert_group"]

S = SCHOOL_ID
FIELDS = StudentInsert.__struct_fields__
TYPES = ["text" if f not in {"birth_date"} else "date" for f in FIELDS]


def students(
    count: int, *, prefix: str, matricule: str, name: str
) -> list[StudentInsert]:
    """*count* students with ids ``<prefix>000…n`` and matricules ``<matricule>n``."""
    born = date(2010, 1, 1)
    return [
        StudentInsert(
            id=prefix + str(n).rjust(20, "0"),
            school_id=S,
            matricule=f"{matricule}{n:09d}",
            first_name=f"{name} {n % 97}",
            last_name=("Kouassi", "Traoré", "Koné", "Diallo", "Bamba")[n % 5],
            birth_date=born + timedelta(days=n % 3000),
            gender=("M", "F")[n % 2],
        )
        for n in range(1, count + 1)
    ]


def _copy(conn: Any, table: str, tuples: list[tuple[Any, ...]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, FIELDS))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(TYPES)
        write = copy.write_row
        for row in tuples:
            write(row)


def _truncate(b: Bench) -> None:
    b.raw.execute("TRUNCATE bench_students")


def bulk_insert_group(b: Bench, sizes: Sizes) -> Group:
    """Insert ``bulk`` new students into an empty copy of ``students``."""
    rows = students(sizes.bulk, prefix="b", matricule="B", name="Awa")
    tuples = [msgspec.structs.astuple(r) for r in rows]
    dicts = [msgspec.structs.asdict(r) for r in rows]
    table = b.bench_students

    def yeko() -> None:
        with b.db.pool.connection() as conn:
            copy_structs(conn, "bench_students", rows)

    def core() -> None:
        with b.engine.connect() as conn:
            conn.execute(sa.insert(table), dicts)

    async def asyncpg_copy() -> None:
        await b.apg.copy_records_to_table(
            "bench_students", records=tuples, columns=list(FIELDS)
        )

    return Group(
        key="bulk_insert",
        title=f"bulk insert of {sizes.bulk:,} students (ms)",
        reset=lambda _: _truncate(b),
        max_rounds=3,
        cases={
            "psycopg binary COPY of tuples (floor)": lambda: _copy(
                b.raw, "bench_students", tuples
            ),
            "yeko-sql copy_structs": yeko,
            "asyncpg copy_records_to_table": lambda: b.run(asyncpg_copy()),
            "SQLAlchemy Core insert() executemany": core,
            "aiosql (psycopg) *! executemany": lambda: b.aiosql.insert_bench_students(
                b.plain, dicts
            ),
        },
    )


def upsert_group(b: Bench, sizes: Sizes) -> Group:
    """Upsert ``upsert`` students by matricule, half of them already there."""
    half = sizes.upsert // 2
    fresh = students(sizes.upsert - half, prefix="n", matricule="N", name="Yao")
    # The existing half: matricules build() gave, new names (two variants, so
    # every sample really changes those rows), ids that ON CONFLICT ignores.
    variants = [
        [
            StudentInsert(
                id="u" + str(n).rjust(20, "0"),
                school_id=S,
                matricule=f"M{n:09d}",
                first_name=f"{name} {n}",
                last_name="Koné",
                birth_date=date(2009, 5, 1),
                gender="F",
            )
            for n in range(1, half + 1)
        ]
        + fresh
        for name in ("Aya", "Mariam")
    ]
    copied = students(sizes.upsert, prefix="k", matricule="K", name="Ibrahim")
    copied_tuples = [msgspec.structs.astuple(r) for r in copied]
    added = [r.id for r in fresh] + [r.id for r in copied]
    statement = b.compiled("students.upsert_students")
    order = b.queries["students.upsert_students"].params
    fields = [p for p in order if p != "school_id"]  # one array per field
    state = {"stored": 1, "next": 0}

    def arrays(rows: list[StudentInsert]) -> dict[str, Any]:
        return {"school_id": S, **columns_of(rows, fields)}

    named = [arrays(rows) for rows in variants]
    positional = [[params[p] for p in order] for params in named]
    dicts = [
        [{f: getattr(r, f) for f in ("school_id", *fields)} for r in rows]
        for rows in variants
    ]
    table = b.students
    excluded = pg_insert(table).excluded
    changed = ("first_name", "last_name", "birth_date", "gender")
    core_statement = pg_insert(table).on_conflict_do_update(
        index_elements=["school_id", "matricule"],
        set_={c: excluded[c] for c in changed},
        where=sa.tuple_(*(table.c[c] for c in changed)).is_distinct_from(
            sa.tuple_(*(excluded[c] for c in changed))
        ),
    )

    def reset(name: str) -> None:
        b.raw.execute("DELETE FROM students WHERE id = ANY($1)", [added])
        b.raw.execute("VACUUM students")
        if "COPY" not in name:
            state["next"] = 1 - state["stored"]
            state["stored"] = state["next"]

    def core() -> None:
        with b.engine.connect() as conn:
            conn.execute(core_statement, dicts[state["next"]])

    return Group(
        key="upsert",
        title=(f"batch upsert of {sizes.upsert:,} students, half of them new (ms)"),
        reset=reset,
        max_rounds=5,
        cases={
            f"psycopg binary COPY of {sizes.upsert:,} new rows (floor)": lambda: _copy(
                b.raw, "students", copied_tuples
            ),
            "psycopg unnest upsert (arrays prebuilt)": lambda: b.raw.execute(
                statement, positional[state["next"]]
            ),
            "yeko-sql upsert_students(**columns_of(rows))": lambda: (
                b.db.students.upsert_students(**arrays(variants[state["next"]]))
            ),
            "aiosql (psycopg) ! unnest upsert": lambda: b.aiosql.upsert_students(
                b.plain, **named[state["next"]]
            ),
            "SQLAlchemy Core on_conflict_do_update executemany": core,
            "asyncpg unnest upsert": lambda: b.run(
                b.apg.execute(statement, *positional[state["next"]])
            ),
        },
    )


def update_group(b: Bench, sizes: Sizes) -> Group:
    """Set the status of ``update`` students in one statement (``= ANY(:ids)``)."""
    ids = [student_id(n) for n in range(1, sizes.update + 1)]
    statement = b.compiled("students.update_student_status")
    order = b.queries["students.update_student_status"].params
    text = sa.text(b.source("students.update_student_status"))
    state = {"status": "active"}

    def reset(_: str) -> None:
        b.raw.execute("VACUUM students")
        state["status"] = "graduated" if state["status"] == "active" else "active"

    def params() -> dict[str, Any]:
        return {"ids": ids, "school_id": S, "status": state["status"]}

    def core() -> None:
        with b.engine.connect() as conn:
            conn.execute(text, params())

    return Group(
        key="update",
        title=f"set-based update of {sizes.update:,} students (ms)",
        reset=reset,
        max_rounds=3,
        cases={
            "psycopg execute (floor)": lambda: b.raw.execute(
                statement, [params()[p] for p in order]
            ),
            "yeko-sql update_student_status(ids=…)": lambda: (
                b.db.students.update_student_status(**params())
            ),
            "aiosql (psycopg) !": lambda: b.aiosql.update_student_status(
                b.plain, **params()
            ),
            "SQLAlchemy Core text()": core,
            "asyncpg execute": lambda: b.run(
                b.apg.execute(statement, *[params()[p] for p in order])
            ),
        },
    )
