from blog.queries import BlogDatabase


def test_replies_point_at_the_comment_they_answer(yeko_db: BlogDatabase) -> None:
    ada = yeko_db.authors.create_author(handle="ada", display_name="Ada")
    post = yeko_db.posts.create_post(
        author_id=ada.id, slug="hello", title="Hello", body="...", metadata={}
    )
    first = yeko_db.comments.create_comment(
        post_id=post.id, author_id=ada.id, parent_id=None, body="First!"
    )
    reply = yeko_db.comments.create_comment(
        post_id=post.id, author_id=ada.id, parent_id=first.id, body="Welcome"
    )
    assert first.parent_id is None
    assert reply.parent_id == first.id
    assert yeko_db.comments.list_post_comments(post_id=post.id) == [first, reply]
    assert yeko_db.comments.count_replies(comment_id=first.id) == 1
