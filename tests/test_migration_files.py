"""The migration files follow the house layout; no database needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from yoyo import read_migrations
from yoyo.migrations import read_sql_migration

from yeko_sql.yeko.resources import migrations_dir

NAME = re.compile(
    r"^(?P<number>\d{4})_(?P<verb>[a-z]+)-(?P<object>[a-z0-9]+(?:-[a-z0-9]+)*)$"
)
INDEX = re.compile(
    r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\w+)"
)
UNIQUE_CONSTRAINT = re.compile(r"\bCONSTRAINT\s+(\w+)\s+UNIQUE\b")
NAMED = re.compile(
    r"\b(?:CONSTRAINT|INDEX(?:\s+CONCURRENTLY)?(?:\s+IF\s+NOT\s+EXISTS)?)\s+(\w+)"
)
CONCURRENT_INDEX = re.compile(r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b")
NAMEDATALEN = 63  # PostgreSQL silently truncates longer identifiers


def _migrations() -> list[Path]:
    """The apply files, in order."""
    return sorted(
        path
        for path in migrations_dir().glob("*.sql")
        if not path.name.endswith(".rollback.sql")
    )


def _rollback(path: Path) -> Path:
    return path.with_name(path.stem + ".rollback.sql")


LEXEMES = re.compile(r"(?s)--[^\n]*|'(?:[^']|'')*'|\$(\w*)\$.*?\$\1\$")


def _blank(match: re.Match[str]) -> str:
    lexeme = match.group(0)
    return "" if lexeme.startswith("--") else "''"


def _code(path: Path) -> str:
    """The file's SQL without comments, string literals or dollar-quoted bodies."""
    return LEXEMES.sub(_blank, path.read_text())


def _statements(path: Path) -> list[str]:
    """The statements as yoyo splits them, without comments or the final ';'."""
    _, _, statements = read_sql_migration(str(path))
    return [
        re.sub(r"(?m)^\s*--.*\n?", "", statement).strip().removesuffix(";")
        for statement in statements
    ]


MIGRATIONS = _migrations()
IDS = [path.stem for path in MIGRATIONS]


def test_there_are_migrations() -> None:
    assert MIGRATIONS, f"no migrations found in {migrations_dir()}"


def test_numbers_are_unique_and_gapless_from_0001() -> None:
    numbers = [int(path.name[:4]) for path in MIGRATIONS]
    assert numbers == list(range(1, len(MIGRATIONS) + 1))


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_file_name_is_number_verb_object(path: Path) -> None:
    assert NAME.match(path.stem), f"{path.name}: expected NNNN_<verb>-<object>.sql"


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_every_migration_has_a_rollback(path: Path) -> None:
    assert _rollback(path).is_file()


def test_every_rollback_belongs_to_a_migration() -> None:
    rollbacks = set(migrations_dir().glob("*.rollback.sql"))
    assert rollbacks == {_rollback(path) for path in MIGRATIONS}


@pytest.mark.parametrize(
    "path",
    [file for path in MIGRATIONS for file in (path, _rollback(path))],
    ids=[file for id_ in IDS for file in (id_, f"{id_}.rollback")],
)
def test_every_file_starts_with_a_one_line_message(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("-- ")
    message = first.removeprefix("-- ")
    assert not message.startswith(("depends:", "transactional:"))
    assert message[0].isupper()
    assert message.endswith(".")
    assert len(first) <= 88, "keep the message to one short sentence"


@pytest.mark.parametrize("index", range(len(MIGRATIONS)), ids=IDS)
def test_each_migration_depends_on_the_previous_one(index: int) -> None:
    lines = MIGRATIONS[index].read_text().splitlines()
    depends = [line for line in lines if line.startswith("-- depends:")]
    if index == 0:
        assert depends == []
    else:
        assert lines[1] == f"-- depends: {IDS[index - 1]}"
        assert depends == [lines[1]]


def test_yoyo_reads_each_message_and_dependency_from_the_header() -> None:
    migrations = read_migrations(str(migrations_dir()))
    assert [m.id for m in migrations] == IDS
    previous: list[str] = []
    for migration, path in zip(migrations, MIGRATIONS, strict=True):
        migration.load()
        assert [d.id for d in migration.depends] == previous
        message = path.read_text().splitlines()[0].removeprefix("-- ")
        assert migration.module.__doc__.strip() == message
        previous = [migration.id]


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_concurrent_indexes_run_outside_a_transaction_one_per_file(path: Path) -> None:
    code = _code(path)
    transactional = "-- transactional: false" not in path.read_text().splitlines()[:3]
    if not CONCURRENT_INDEX.search(code):
        assert transactional, f"{path.name}: no concurrent index, keep the transaction"
        return
    assert not transactional, f"{path.name}: needs '-- transactional: false'"
    assert len(INDEX.findall(code)) == 1, f"{path.name}: one concurrent index per file"
    # Timeouts off, and set first: yoyo pairs the rollback's DROP INDEX with the
    # first statement, so a failed build drops the INVALID index it leaves.
    assert _statements(path)[:2] == [
        "SET lock_timeout = 0",
        "SET statement_timeout = 0",
    ]
    assert "CONCURRENTLY IF NOT EXISTS" in code
    (name,) = INDEX.findall(code)
    rollback = _code(_rollback(path)).strip()
    assert rollback == f"DROP INDEX CONCURRENTLY IF EXISTS {name};"


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_every_index_and_unique_key_has_a_comment(path: Path) -> None:
    code = _code(path)
    names = INDEX.findall(code) + UNIQUE_CONSTRAINT.findall(code)
    commented = set(re.findall(r"\bCOMMENT\s+ON\s+INDEX\s+(\w+)", code))
    assert [name for name in names if name not in commented] == []


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_unique_keys_are_named(path: Path) -> None:
    # A bare column-level UNIQUE gets a name nobody wrote down, so grep cannot
    # find it; every unique key is a named constraint or a CREATE UNIQUE INDEX.
    code = _code(path)
    bare = [
        match.start()
        for match in re.finditer(r"\bUNIQUE\b", code)
        if not re.search(
            r"(?:\bCONSTRAINT\s+\w+\s+|\bCREATE\s+)$", code[: match.start()]
        )
    ]
    assert bare == [], f"{path.name}: unnamed UNIQUE at offsets {bare}"


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_names_fit_postgres_identifier_length(path: Path) -> None:
    names = NAMED.findall(_code(path))
    assert [name for name in names if len(name) > NAMEDATALEN] == []


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_transactional_migrations_bound_their_lock_waits(path: Path) -> None:
    # CREATE TABLE ... REFERENCES locks the parent table against writes; failing
    # after 5 s beats queueing every write to schools or students behind us.
    if "-- transactional: false" in path.read_text():
        return
    preamble = ["SET LOCAL lock_timeout = '5s'", "SET LOCAL statement_timeout = '60s'"]
    for file in (path, _rollback(path)):
        assert _statements(file)[:2] == preamble, file.name


@pytest.mark.parametrize("path", MIGRATIONS, ids=IDS)
def test_a_rollback_has_no_more_statements_than_its_migration(path: Path) -> None:
    # yoyo pairs rollback statements with apply statements (last with first);
    # a surplus rollback statement would have no step to belong to.
    _, _, apply = read_sql_migration(str(path))
    _, _, rollback = read_sql_migration(str(_rollback(path)))
    assert 0 < len(rollback) <= len(apply)
