import pytest

from yeko_sql.errors import PlaceholderError, QueryFileError
from yeko_sql.query._lexer import find_placeholders, line_of, tokenize


def names(sql: str) -> list[str]:
    return [p.name for p in find_placeholders(sql)]


def test_a_colon_then_a_name_is_a_parameter() -> None:
    assert names("SELECT * FROM schools WHERE id = :school_id") == ["school_id"]


def test_placeholder_spans_the_colon_and_the_name() -> None:
    sql = "SELECT :school_id, 1"
    [found] = find_placeholders(sql)
    assert sql[found.start : found.end] == ":school_id"
    assert found.number is None


def test_casts_are_not_parameters() -> None:
    assert names("SELECT :a::int, x::text, :b::text[] FROM t") == ["a", "b"]


def test_keywords_can_name_parameters() -> None:
    assert names("SELECT 1 LIMIT :limit OFFSET :offset") == ["limit", "offset"]


def test_string_constants_hide_parameters() -> None:
    sql = "SELECT 'it''s :fake', E'\\':fake', :real, U&'\\0061 :fake'"
    assert names(sql) == ["real"]


def test_dollar_quoted_bodies_hide_parameters() -> None:
    assert names("SELECT $$ :fake $$, $fn$ ':fake' $fn$, :real") == ["real"]


def test_comments_hide_parameters() -> None:
    sql = "SELECT :a -- :fake\n, /* :fake /* nested :fake */ :fake */ :b"
    assert names(sql) == ["a", "b"]


def test_quoted_identifiers_hide_parameters() -> None:
    assert names('SELECT ":fake", "a:b" FROM t WHERE x = :real') == ["real"]


def test_array_slices_are_not_parameters() -> None:
    sql = "SELECT arr[1:2], arr[lo:hi], arr[:2], arr[lo:], arr[: hi], arr[:] FROM t"
    assert names(sql) == []


def test_parameters_in_a_subscript_go_in_parentheses() -> None:
    sql = "SELECT arr[(:i)], arr[(:lo):(:hi)], arr[1 + :k], arr[lo:hi + :n] FROM t"
    assert names(sql) == ["i", "lo", "hi", "k", "n"]


def test_ambiguous_colon_name_after_an_open_bracket_is_refused() -> None:
    with pytest.raises(PlaceholderError) as caught:
        find_placeholders("SELECT\n  arr[:n]\nFROM t", path="q.sql", line=5)
    assert (caught.value.path, caught.value.line) == ("q.sql", 6)
    assert "'[:n]' is ambiguous" in str(caught.value)
    assert "[(:n)]" in caught.value.hint


def test_array_constructors_take_parameters() -> None:
    assert names("SELECT ARRAY[:a, :b], ARRAY[[:c], [:d]], :ids[1:2]") == [
        "a",
        "b",
        "c",
        "d",
        "ids",
    ]


def test_a_repeated_parameter_is_found_each_time() -> None:
    assert names("SELECT :a, :b, :a") == ["a", "b", "a"]


def test_a_parameter_at_the_very_end_is_found() -> None:
    assert names("SELECT 1 WHERE x = :last") == ["last"]


def test_offsets_count_characters_not_utf8_bytes() -> None:
    sql = "SELECT 'é😀' || :name, \"naïve\" -- ☃\n, :other"
    found = find_placeholders(sql)
    assert [sql[p.start : p.end] for p in found] == [":name", ":other"]
    assert [p.line for p in found] == [1, 2]


def test_named_assignment_and_fat_arrow_are_not_parameters() -> None:
    assert names("SELECT f(a := 1, b => :c)") == ["c"]


def test_positional_placeholders_are_named_by_number() -> None:
    found = find_placeholders("SELECT $1, $2, $1")
    assert [(p.name, p.number) for p in found] == [("p1", 1), ("p2", 2), ("p1", 1)]


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT :1", "parameter name '1' is not an identifier"),
        ("SELECT : x", "':' is not followed by a parameter name"),
        ("SELECT x = :", "':' is not followed by a parameter name"),
        ("SELECT :'v'", "psql's :'v' interpolation is not a parameter"),
        ('SELECT :"v"', 'psql\'s :"v" interpolation is not a parameter'),
        ("SELECT :a$b", "parameter name 'a$b' is not an identifier"),
        ("SELECT :class", "parameter name 'class' is a Python keyword"),
        ("SELECT $0", "'$0' is not a parameter"),
    ],
)
def test_bad_placeholders_name_file_and_line(sql: str, problem: str) -> None:
    with pytest.raises(PlaceholderError) as caught:
        find_placeholders(f"\n\n{sql}", path="sql/q.sql", line=10)
    assert (caught.value.path, caught.value.line) == ("sql/q.sql", 12)
    assert caught.value.problem == problem


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT 'open", "unterminated quoted string"),
        ("SELECT $$open", "unterminated dollar-quoted string"),
        ("SELECT /* open", "unterminated /* comment"),
        ('SELECT "open', "unterminated quoted identifier"),
    ],
)
def test_unterminated_text_is_a_load_error_where_it_starts(
    sql: str, problem: str
) -> None:
    with pytest.raises(QueryFileError) as caught:
        tokenize(f"SELECT 1,\n{sql}\n\nmore", path="sql/q.sql", line=3)
    assert (caught.value.path, caught.value.line) == ("sql/q.sql", 4)
    assert caught.value.problem == problem


def test_tokens_keep_their_text() -> None:
    tokens = tokenize("SELECT 'é' -- c")
    assert [(t.name, t.text) for t in tokens] == [
        ("SELECT", "SELECT"),
        ("SCONST", "'é'"),
        ("SQL_COMMENT", "-- c"),
    ]
    assert tokens[-1].is_comment


def test_line_of_counts_from_the_first_line() -> None:
    assert line_of("a\nb\nc", 4, first_line=7) == 9
