-- Create tags and post_tags, which tags posts (many to many).
-- depends: 0002_create-posts

CREATE TABLE tags (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    CONSTRAINT tags_name_key UNIQUE (name)
);

CREATE TABLE post_tags (
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);

CREATE INDEX post_tags_tag_id_post_id_idx ON post_tags (tag_id, post_id);

COMMENT ON INDEX post_tags_tag_id_post_id_idx IS 'serves tags.list_tagged_posts';
