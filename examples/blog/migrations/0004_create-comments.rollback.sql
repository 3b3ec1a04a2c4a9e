-- Drop comments.

DROP TABLE comments;
