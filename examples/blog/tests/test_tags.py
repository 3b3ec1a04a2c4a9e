from blog.queries import BlogDatabase


def test_tagged_posts_are_the_published_ones(yeko_db: BlogDatabase) -> None:
    ada = yeko_db.authors.create_author(handle="ada", display_name="Ada")
    posts = [
        yeko_db.posts.create_post(
            author_id=ada.id, slug=slug, title=slug, body="...", metadata={}
        )
        for slug in ("sql", "python")
    ]
    assert yeko_db.tags.insert_tags(names=["db", "code", "db"]) == 2
    assert yeko_db.tags.insert_tags(names=["db"]) == 0
    for post in posts:
        assert yeko_db.tags.tag_post(post_id=post.id, names=["db", "code"]) == 2
    yeko_db.posts.publish_posts(ids=[posts[0].id])
    tags = yeko_db.tags.list_post_tags(post_id=posts[1].id)
    assert [t.name for t in tags] == ["code", "db"]
    assert [p.slug for p in yeko_db.tags.list_tagged_posts(name="db")] == ["sql"]
