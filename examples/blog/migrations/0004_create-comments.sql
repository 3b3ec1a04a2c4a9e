-- Create comments on posts; a reply points at the comment it answers.
-- depends: 0003_create-tags

CREATE TABLE comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id bigint NOT NULL REFERENCES authors (id),
    parent_id bigint REFERENCES comments (id) ON DELETE CASCADE,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX comments_parent_id_idx ON comments (parent_id);

COMMENT ON INDEX comments_parent_id_idx
    IS 'serves the ON DELETE CASCADE of a comment to its replies';
