-- Drop marks_term_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS marks_term_id_idx;
