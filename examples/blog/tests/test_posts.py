import asyncio

from blog.models import Post
from blog.queries import AsyncBlogDatabase, BlogDatabase


def _post(db: BlogDatabase, slug: str, author_id: int) -> Post:
    return db.posts.create_post(
        author_id=author_id,
        slug=slug,
        title=slug.title(),
        body="...",
        metadata={"words": 3},
    )


def test_a_post_starts_as_a_draft_with_its_metadata(yeko_db: BlogDatabase) -> None:
    ada = yeko_db.authors.create_author(handle="ada", display_name="Ada")
    post = _post(yeko_db, "engines", ada.id)
    assert post.status == "draft"
    assert post.published_at is None
    patched = yeko_db.posts.update_post_metadata(post_id=post.id, patch={"lang": "en"})
    assert patched == 1
    merged = yeko_db.posts.get_post_by_slug(slug="engines").metadata
    assert merged == {"words": 3, "lang": "en"}


def test_published_posts_page_newest_first(yeko_db: BlogDatabase) -> None:
    ada = yeko_db.authors.create_author(handle="ada", display_name="Ada")
    posts = [_post(yeko_db, f"post-{i}", ada.id) for i in range(5)]
    assert yeko_db.posts.publish_posts(ids=[p.id for p in posts[:3]]) == 3
    assert yeko_db.posts.publish_posts(ids=[posts[0].id]) == 0  # already published
    page = yeko_db.posts.list_published_posts(page=1, page_size=2)
    assert page.total == 3
    assert [p.slug for p in page.items] == ["post-2", "post-1"]
    assert page.items[0].author_handle == "ada"
    assert yeko_db.posts.count_posts_by_status(status="draft") == 2
    assert [p.slug for p in yeko_db.posts.list_author_posts(author_id=ada.id)] == [
        p.slug for p in posts
    ]


def test_the_async_twin_reads_the_same_rows(
    yeko_db: BlogDatabase, yeko_adb: AsyncBlogDatabase
) -> None:
    ada = yeko_db.authors.create_author(handle="ada", display_name="Ada")
    _post(yeko_db, "async", ada.id)

    async def main() -> int:
        async with yeko_adb as adb:
            return await adb.posts.count_posts_by_status(status="draft")

    assert asyncio.run(main()) == 1
