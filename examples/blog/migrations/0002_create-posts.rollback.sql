-- Drop posts and their status enum.

DROP TABLE posts;

DROP TYPE post_status;
