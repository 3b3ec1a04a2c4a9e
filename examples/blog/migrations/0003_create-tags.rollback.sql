-- Drop post_tags and tags.

DROP TABLE post_tags;

DROP TABLE tags;
