-- Create posts, each a draft, published or archived (a PostgreSQL enum).
-- depends: 0001_create-authors

CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');

CREATE TABLE posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    slug text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    status post_status NOT NULL DEFAULT 'draft',
    metadata jsonb NOT NULL DEFAULT '{}',
    published_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT posts_slug_key UNIQUE (slug),
    CONSTRAINT posts_published_at_check
        CHECK (status <> 'published' OR published_at IS NOT NULL)
);

CREATE INDEX posts_author_id_created_at_id_idx
    ON posts (author_id, created_at, id);

COMMENT ON INDEX posts_author_id_created_at_id_idx
    IS 'serves posts.list_author_posts';

CREATE INDEX posts_published_at_id_where_published_idx
    ON posts (published_at DESC, id DESC)
    WHERE status = 'published';

COMMENT ON INDEX posts_published_at_id_where_published_idx
    IS 'serves posts.list_published_posts';
