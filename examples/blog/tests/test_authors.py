from yeko_sql.bulk import copy_structs

from blog.models import AuthorData
from blog.queries import BlogDatabase


def test_a_new_author_is_found_by_handle(yeko_db: BlogDatabase) -> None:
    ada = yeko_db.authors.create_author(handle="ada", display_name="Ada")
    assert yeko_db.authors.find_author_by_handle(handle="ada") == ada
    assert yeko_db.authors.find_author_by_handle(handle="nobody") is None


def test_upsert_renames_known_handles_and_adds_new_ones(yeko_db: BlogDatabase) -> None:
    yeko_db.authors.create_author(handle="ada", display_name="Ada")
    written = yeko_db.authors.upsert_authors(
        handle=["ada", "grace"], display_name=["Ada L.", "Grace"]
    )
    assert written == 2
    ada = yeko_db.authors.find_author_by_handle(handle="ada")
    assert ada is not None
    assert ada.display_name == "Ada L."


def test_copy_structs_loads_authors_in_bulk(yeko_db: BlogDatabase) -> None:
    rows = [AuthorData(handle=f"writer{i}", display_name=f"W{i}") for i in range(50)]
    with yeko_db.transaction() as tx:
        assert copy_structs(tx.connection, "authors", rows) == 50
    found = yeko_db.authors.find_author_by_handle(handle="writer49")
    assert found is not None
    assert found.display_name == "W49"
