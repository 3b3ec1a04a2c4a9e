import pytest

from yeko_sql import Settings


def test_defaults_are_visible_and_sane() -> None:
    settings = Settings()
    assert (settings.min_size, settings.max_size, settings.slow_transaction_ms) == (
        2,
        10,
        500.0,
    )
    assert settings.session_settings()["application_name"] == "yeko-sql"


def test_from_env_reads_prefixed_variables_and_converts_them() -> None:
    settings = Settings.from_env(
        {
            "YEKO_SQL_MAX_SIZE": "20",
            "YEKO_SQL_STATEMENT_TIMEOUT_MS": "5000",
            "YEKO_SQL_PREPARE_THRESHOLD": "none",
            "YEKO_SQL_STRICT_ROWS": "true",
            "UNRELATED": "x",
        }
    )
    assert settings.max_size == 20
    assert settings.statement_timeout_ms == 5000
    assert settings.prepare_threshold is None
    assert settings.strict_rows is True
    assert settings.min_size == Settings().min_size


def test_from_env_names_the_variable_that_does_not_parse() -> None:
    with pytest.raises(ValueError, match="YEKO_SQL_") as caught:
        Settings.from_env({"YEKO_SQL_MAX_SIZE": "many"})
    assert "max_size" in str(caught.value)


def test_the_pooler_mode_comes_from_the_environment_too() -> None:
    assert Settings.from_env({"YEKO_SQL_POOLER": "transaction"}).pooler == "transaction"
    assert Settings.from_env({}).pooler is None
    with pytest.raises(ValueError, match=r"\$\.pooler"):
        Settings.from_env({"YEKO_SQL_POOLER": "statement"})


def test_connections_get_keepalives_and_a_user_timeout_by_default() -> None:
    options = Settings().connection_options()
    assert options["keepalives"] == 1
    assert options["tcp_user_timeout"] == 30_000
