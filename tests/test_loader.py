import sys
import textwrap
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import (
    DuplicateQueryError,
    EmptyQueryError,
    HeaderError,
    PlaceholderError,
    QueryFileError,
    UnknownKindError,
    UnknownStructError,
)
from yeko_sql.query.kinds import Kind
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Namespace

SCHOOLS = """
    -- Schools: the tenants.

    -- name: get_school :one
    -- returns: School
    SELECT id, name FROM schools WHERE id = :id;

    -- name: list_schools :many
    -- returns: School
    SELECT id, name FROM schools ORDER BY id;
"""

CLASSES = """
    -- name: list_classes :many
    SELECT id FROM classes WHERE school_id = :school_id ORDER BY id;

    -- name: count_classes :scalar
    SELECT count(*) FROM classes;
"""


class School(msgspec.Struct):
    id: str
    name: str


PackageMaker = Callable[[str, str], str]

models = types.ModuleType("test_models")
models.School = School  # type: ignore[attr-defined]


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PackageMaker]:
    """Write Python modules into a uniquely named, importable package."""
    root = tmp_path / "python"
    name = f"yeko_models_{uuid.uuid4().hex[:8]}"
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(root))

    def write(module: str, text: str) -> str:
        path = root / name / f"{module.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return f"{name}.{module}".removesuffix(".__init__")

    yield write
    for loaded in [m for m in sys.modules if m.split(".")[0] == name]:
        del sys.modules[loaded]


def load_error(
    sql_dir: SqlDir, files: dict[str, str], error: type[QueryFileError]
) -> QueryFileError:
    for name, text in files.items():
        sql_dir.write(name, text)
    with pytest.raises(error) as caught:
        load_queries(sql_dir.path, models=[models])
    return caught.value


def where(error: QueryFileError, sql_dir: SqlDir) -> tuple[str, int]:
    return (str(Path(error.path).relative_to(sql_dir.path)), error.line)


# -- the registry ------------------------------------------------------------


def test_every_file_is_a_namespace_of_its_queries(sql_dir: SqlDir) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    sql_dir.write("classes.sql", CLASSES)
    registry = load_queries(sql_dir.path, models=[models])
    assert list(registry.namespaces) == ["classes", "schools"]
    assert [q.qualname for q in registry] == [
        "classes.list_classes",
        "classes.count_classes",
        "schools.get_school",
        "schools.list_schools",
    ]
    assert len(registry) == 4


def test_queries_are_found_by_qualified_or_bare_name(sql_dir: SqlDir) -> None:
    path = sql_dir.write("schools.sql", SCHOOLS)
    registry = load_queries(sql_dir.path, models=[models])
    query = registry["schools.get_school"]
    assert registry["get_school"] is query
    assert (query.path, query.line, query.kind) == (str(path), 3, Kind.ONE)
    assert query.returns is School
    assert "schools.get_school" in registry
    assert "classes.get_school" not in registry


def test_an_unknown_query_suggests_close_names(sql_dir: SqlDir) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    registry = load_queries(sql_dir.path, models=[models])
    with pytest.raises(KeyError, match=r"did you mean 'schools\.get_school'"):
        registry["schools.get_schol"]
    with pytest.raises(KeyError, match="did you mean 'list_schools'"):
        registry["list_school"]
    with pytest.raises(KeyError, match="did you mean 'schools'"):
        registry.namespace("school")


def test_a_namespace_maps_names_to_queries_in_file_order(sql_dir: SqlDir) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    namespace = load_queries(sql_dir.path, models=[models]).namespace("schools")
    assert isinstance(namespace, Namespace)
    assert namespace.name == "schools"
    assert list(namespace) == ["get_school", "list_schools"]
    assert namespace["list_schools"].name == "list_schools"
    with pytest.raises(KeyError, match="did you mean 'get_school'"):
        namespace["get_schools"]


def test_a_single_file_and_several_paths_load(sql_dir: SqlDir) -> None:
    schools = sql_dir.write("schools.sql", SCHOOLS)
    classes = sql_dir.write("more/classes.sql", CLASSES)
    assert list(load_queries(schools, models=[models]).namespaces) == ["schools"]
    both = load_queries([str(schools), classes.parent, schools], models=[models])
    assert list(both.namespaces) == ["schools", "classes"]


def test_files_in_subfolders_are_loaded(sql_dir: SqlDir) -> None:
    sql_dir.write("a/classes.sql", CLASSES)
    assert list(load_queries(sql_dir.path).namespaces) == ["classes"]


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_queries(tmp_path / "nowhere")


# -- `-- returns:` -----------------------------------------------------------


def test_returns_is_found_in_a_model_module_by_name(
    sql_dir: SqlDir, package: PackageMaker
) -> None:
    module = package(
        "schools", "import msgspec\nclass School(msgspec.Struct):\n id: str\n"
    )
    sql_dir.write("schools.sql", SCHOOLS)
    registry = load_queries(sql_dir.path, models=[module])
    assert registry["get_school"].returns is sys.modules[module].School


def test_returns_is_found_in_a_package_s_submodules(
    sql_dir: SqlDir, package: PackageMaker
) -> None:
    package("domain.__init__", "from .schools import School\n")
    package(
        "domain.schools", "import msgspec\nclass School(msgspec.Struct):\n id: str\n"
    )
    root = package("__init__", "")
    sql_dir.write("schools.sql", SCHOOLS)
    registry = load_queries(sql_dir.path, models=[root])
    assert (
        registry["get_school"].returns is sys.modules[f"{root}.domain.schools"].School
    )


def test_returns_can_be_a_dotted_path(sql_dir: SqlDir, package: PackageMaker) -> None:
    module = package(
        "rows",
        """
        import msgspec
        class Outer:
            class Row(msgspec.Struct):
                id: str
        """,
    )
    sql_dir.write(
        "q.sql", f"-- name: get_row :one\n-- returns: {module}.Outer.Row\nSELECT 1"
    )
    registry = load_queries(sql_dir.path)
    assert registry["get_row"].returns is sys.modules[module].Outer.Row


def test_an_unknown_struct_names_file_line_and_close_names(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"schools.sql": "-- name: get_school :one\n-- Doc\n-- returns: Shcool\nSELECT"},
        UnknownStructError,
    )
    assert where(error, sql_dir) == ("schools.sql", 3)
    assert error.problem == "'-- returns: Shcool' names no known Struct"
    assert error.hint == "did you mean 'School'?"


def test_an_unknown_struct_without_models_says_how_to_give_them(
    sql_dir: SqlDir,
) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    with pytest.raises(UnknownStructError) as caught:
        load_queries(sql_dir.path)
    assert caught.value.line == 4
    assert "pass models=" in caught.value.hint


def test_an_ambiguous_struct_names_both_definitions(
    sql_dir: SqlDir, package: PackageMaker
) -> None:
    one = package("one", "import msgspec\nclass School(msgspec.Struct):\n id: str\n")
    two = package("two", "import msgspec\nclass School(msgspec.Struct):\n id: str\n")
    path = sql_dir.write("schools.sql", SCHOOLS)
    with pytest.raises(UnknownStructError) as caught:
        load_queries(sql_dir.path, models=[one, two])
    assert (caught.value.path, caught.value.line) == (str(path), 4)
    assert caught.value.problem == (
        f"'-- returns: School' is ambiguous: {one}.School, {two}.School"
    )


@pytest.mark.parametrize(
    ("returns", "problem"),
    [
        ("pathlib.Path", "'-- returns: pathlib.Path' is not a msgspec Struct"),
        ("pathlib.Nope", "'-- returns: pathlib.Nope': module 'pathlib' has no 'Nope'"),
        ("nowhere_at_all.School", "no module 'nowhere_at_all' to import"),
    ],
)
def test_a_dotted_returns_must_name_a_struct(
    sql_dir: SqlDir, returns: str, problem: str
) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": f"-- name: get_x :one\n-- returns: {returns}\nSELECT 1"},
        UnknownStructError,
    )
    assert where(error, sql_dir) == ("q.sql", 2)
    assert problem in error.problem


# -- load errors name the file and line --------------------------------------


def test_sql_without_a_name_is_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir, {"schools.sql": "-- File doc.\n\nSELECT 1;\n"}, HeaderError
    )
    assert where(error, sql_dir) == ("schools.sql", 3)
    assert error.problem == "SQL outside a query"


def test_a_name_line_without_a_name_is_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"schools.sql": "-- File doc.\n-- name: :one\nSELECT 1;\n"},
        HeaderError,
    )
    assert where(error, sql_dir) == ("schools.sql", 2)
    assert error.problem == "query has no name"


def test_a_duplicate_name_in_one_file_points_at_both(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"schools.sql": SCHOOLS + "\n-- name: get_school :opt\nSELECT 1;\n"},
        DuplicateQueryError,
    )
    assert where(error, sql_dir) == ("schools.sql", 11)
    assert error.problem == (
        f"query 'get_school' is already defined at {sql_dir.path / 'schools.sql'}:3"
    )


def test_a_duplicate_name_across_files_points_at_both(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {
            "schools.sql": SCHOOLS,
            "z_more.sql": "-- name: list_schools :many\nSELECT 1;\n",
        },
        DuplicateQueryError,
    )
    assert where(error, sql_dir) == ("z_more.sql", 1)
    assert error.problem.endswith(f"{sql_dir.path / 'schools.sql'}:7")


def test_unknown_kind_names_file_and_line(sql_dir: SqlDir) -> None:
    path = sql_dir.write(
        "schools.sql", "-- Schools.\n\n-- name: list_schools :pages\nSELECT 1;\n"
    )
    with pytest.raises(UnknownKindError) as caught:
        load_queries(path.parent)
    assert str(caught.value) == (
        f"{path}:3: unknown kind ':pages' for query 'list_schools'; expected one of"
        " :one, :opt, :many, :scalar, :exec, :execrows, :page, :keyset, :stream"
    )


def test_an_sqlc_kind_is_refused_with_what_to_use(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"schools.sql": "-- name: copy_schools :copyfrom\nINSERT INTO x VALUES (1);\n"},
        UnknownKindError,
    )
    assert where(error, sql_dir) == ("schools.sql", 1)
    assert str(error).endswith(
        "sqlc's ':copyfrom' is not supported for query 'copy_schools';"
        " use yeko_sql.bulk.copy.copy_structs"
    )


def test_an_unknown_header_key_is_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :one\n-- Served by q_idx.\n-- note: x\nSELECT 1;\n"},
        HeaderError,
    )
    assert where(error, sql_dir) == ("q.sql", 3)
    assert error.problem == "unknown header key 'note'"


def test_a_repeated_header_key_is_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :one\n-- timeout: 1s\n-- timeout: 2s\nSELECT 1;\n"},
        HeaderError,
    )
    assert where(error, sql_dir) == ("q.sql", 3)
    assert error.problem == "header key 'timeout' repeated (first at line 2)"


def test_a_bad_header_value_is_refused_where_it_is(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :one\n-- timeout: soon\nSELECT 1;\n"},
        HeaderError,
    )
    assert where(error, sql_dir) == ("q.sql", 2)


@pytest.mark.parametrize(
    "text",
    [
        "-- name: q :one\n-- Doc.\n\n-- name: r :one\nSELECT 1;\n",
        "-- name: q :one\n-- name: r :one\nSELECT 1;\n",
        "-- name: q :one\n-- Doc.\n\n/* a comment */\n-- name: r :one\nSELECT 1;",
    ],
)
def test_a_query_without_sql_is_refused(sql_dir: SqlDir, text: str) -> None:
    error = load_error(sql_dir, {"q.sql": text}, EmptyQueryError)
    assert where(error, sql_dir) == ("q.sql", 1)
    assert error.problem == "query 'q' has no SQL under its header"


def test_a_header_at_the_end_of_the_file_is_an_empty_query(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :one\nSELECT 1;\n\n-- name: r :many"},
        EmptyQueryError,
    )
    assert where(error, sql_dir) == ("q.sql", 4)


def test_mixed_placeholder_styles_are_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :many\nSELECT *\nFROM t\nWHERE a = $1 AND b = :b;\n"},
        PlaceholderError,
    )
    assert where(error, sql_dir) == ("q.sql", 4)


def test_a_parameter_that_is_not_an_identifier_is_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :many\n-- Doc.\nSELECT *\nFROM t WHERE a = :1;\n"},
        PlaceholderError,
    )
    assert where(error, sql_dir) == ("q.sql", 4)


def test_two_statements_in_one_query_are_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir, {"q.sql": "-- name: q :exec\nSELECT 1;\n  SELECT 2;\n"}, QueryFileError
    )
    assert where(error, sql_dir) == ("q.sql", 3)
    assert "one statement per query" in error.hint


def test_a_page_without_limit_and_offset_is_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :one\nSELECT 1;\n\n-- name: list_x :page\nSELECT :limit"},
        PlaceholderError,
    )
    assert where(error, sql_dir) == ("q.sql", 4)
    assert error.problem == ":page query 'list_x' takes no 'offset' parameter"


def test_an_unterminated_string_is_refused_where_it_opens(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {"q.sql": "-- name: q :one\nSELECT 1;\n-- name: r :one\nSELECT 'open;\n"},
        QueryFileError,
    )
    assert where(error, sql_dir) == ("q.sql", 4)
    assert error.problem == "unterminated quoted string"


def test_a_file_stem_that_is_not_an_identifier_is_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir, {"school-years.sql": "-- name: q :one\nSELECT 1;\n"}, QueryFileError
    )
    assert where(error, sql_dir) == ("school-years.sql", 1)
    assert error.problem == "namespace 'school-years' is not an identifier"


def test_two_files_with_one_stem_are_refused(sql_dir: SqlDir) -> None:
    error = load_error(
        sql_dir,
        {
            "a/q.sql": "-- name: q :one\nSELECT 1;\n",
            "b/q.sql": "-- name: r :one\nSELECT 1;\n",
        },
        QueryFileError,
    )
    assert where(error, sql_dir) == ("b/q.sql", 1)


def test_a_file_that_is_not_utf8_is_refused_at_the_bad_line(sql_dir: SqlDir) -> None:
    path = sql_dir.path / "q.sql"
    path.write_bytes(b"-- name: q :one\nSELECT 'caf\xe9';\n")
    with pytest.raises(QueryFileError) as caught:
        load_queries(sql_dir.path)
    assert (caught.value.path, caught.value.line) == (str(path), 2)
