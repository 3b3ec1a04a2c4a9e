-- Add foreign keys that carry school_id between school-owned tables, NOT VALID.
-- depends: 0050_index-fee-structures-by-id-and-school

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- A row must point at a row of its own school: the key includes school_id, so an
-- enrollment of school A naming a class of school B fails the check, whatever
-- RLS lets the writer see (foreign-key checks bypass RLS). This is also what a
-- tenant-sharded PostgreSQL (Citus, distributed by school_id) requires of a key
-- between two distributed tables. NOT VALID: existing rows are checked by 0052,
-- which does not block writes; new and updated rows are checked from now on.
-- A NULL fee_structure_id skips its check, as the single-column key did (MATCH
-- SIMPLE).
ALTER TABLE terms
    ADD CONSTRAINT terms_school_id_school_year_id_fkey
    FOREIGN KEY (school_id, school_year_id) REFERENCES school_years (school_id, id)
    NOT VALID;

ALTER TABLE classes
    ADD CONSTRAINT classes_school_id_school_year_id_fkey
    FOREIGN KEY (school_id, school_year_id) REFERENCES school_years (school_id, id)
    NOT VALID;

ALTER TABLE enrollments
    ADD CONSTRAINT enrollments_school_id_student_id_fkey
    FOREIGN KEY (school_id, student_id) REFERENCES students (school_id, id)
    NOT VALID;

ALTER TABLE enrollments
    ADD CONSTRAINT enrollments_school_id_class_id_fkey
    FOREIGN KEY (school_id, class_id) REFERENCES classes (school_id, id)
    NOT VALID;

ALTER TABLE enrollments
    ADD CONSTRAINT enrollments_school_id_school_year_id_fkey
    FOREIGN KEY (school_id, school_year_id) REFERENCES school_years (school_id, id)
    NOT VALID;

ALTER TABLE fee_structures
    ADD CONSTRAINT fee_structures_school_id_school_year_id_fkey
    FOREIGN KEY (school_id, school_year_id) REFERENCES school_years (school_id, id)
    NOT VALID;

ALTER TABLE payments
    ADD CONSTRAINT payments_school_id_student_id_fkey
    FOREIGN KEY (school_id, student_id) REFERENCES students (school_id, id)
    NOT VALID;

ALTER TABLE payments
    ADD CONSTRAINT payments_school_id_school_year_id_fkey
    FOREIGN KEY (school_id, school_year_id) REFERENCES school_years (school_id, id)
    NOT VALID;

ALTER TABLE payments
    ADD CONSTRAINT payments_school_id_fee_structure_id_fkey
    FOREIGN KEY (school_id, fee_structure_id) REFERENCES fee_structures (school_id, id)
    NOT VALID;

ALTER TABLE marks
    ADD CONSTRAINT marks_school_id_student_id_fkey
    FOREIGN KEY (school_id, student_id) REFERENCES students (school_id, id)
    NOT VALID;

ALTER TABLE marks
    ADD CONSTRAINT marks_school_id_class_id_fkey
    FOREIGN KEY (school_id, class_id) REFERENCES classes (school_id, id)
    NOT VALID;

ALTER TABLE marks
    ADD CONSTRAINT marks_school_id_term_id_fkey
    FOREIGN KEY (school_id, term_id) REFERENCES terms (school_id, id)
    NOT VALID;
