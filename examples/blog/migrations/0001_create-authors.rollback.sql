-- Drop authors.

DROP TABLE authors;
