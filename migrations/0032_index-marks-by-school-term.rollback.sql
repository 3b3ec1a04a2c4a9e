-- Drop marks_school_id_term_id_idx.

DROP INDEX CONCURRENTLY IF EXISTS marks_school_id_term_id_idx;
