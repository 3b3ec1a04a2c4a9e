-- Add back the single-column foreign keys between school-owned tables.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- NOT VALID, then validated: the same two steps as 0051 and 0052, one statement
-- per table so that the rollback has no more statements than the migration.
ALTER TABLE terms
    ADD CONSTRAINT terms_school_year_id_fkey
    FOREIGN KEY (school_year_id) REFERENCES school_years (id)
    NOT VALID;

ALTER TABLE classes
    ADD CONSTRAINT classes_school_year_id_fkey
    FOREIGN KEY (school_year_id) REFERENCES school_years (id)
    NOT VALID;

ALTER TABLE enrollments
    ADD CONSTRAINT enrollments_student_id_fkey
    FOREIGN KEY (student_id) REFERENCES students (id)
    NOT VALID,
    ADD CONSTRAINT enrollments_class_id_fkey
    FOREIGN KEY (class_id) REFERENCES classes (id)
    NOT VALID,
    ADD CONSTRAINT enrollments_school_year_id_fkey
    FOREIGN KEY (school_year_id) REFERENCES school_years (id)
    NOT VALID;

ALTER TABLE fee_structures
    ADD CONSTRAINT fee_structures_school_year_id_fkey
    FOREIGN KEY (school_year_id) REFERENCES school_years (id)
    NOT VALID;

ALTER TABLE payments
    ADD CONSTRAINT payments_student_id_fkey
    FOREIGN KEY (student_id) REFERENCES students (id)
    NOT VALID,
    ADD CONSTRAINT payments_school_year_id_fkey
    FOREIGN KEY (school_year_id) REFERENCES school_years (id)
    NOT VALID,
    ADD CONSTRAINT payments_fee_structure_id_fkey
    FOREIGN KEY (fee_structure_id) REFERENCES fee_structures (id)
    NOT VALID;

ALTER TABLE marks
    ADD CONSTRAINT marks_student_id_fkey
    FOREIGN KEY (student_id) REFERENCES students (id)
    NOT VALID,
    ADD CONSTRAINT marks_class_id_fkey
    FOREIGN KEY (class_id) REFERENCES classes (id)
    NOT VALID,
    ADD CONSTRAINT marks_term_id_fkey
    FOREIGN KEY (term_id) REFERENCES terms (id)
    NOT VALID;

ALTER TABLE terms
    VALIDATE CONSTRAINT terms_school_year_id_fkey;

ALTER TABLE classes
    VALIDATE CONSTRAINT classes_school_year_id_fkey;

ALTER TABLE enrollments
    VALIDATE CONSTRAINT enrollments_student_id_fkey,
    VALIDATE CONSTRAINT enrollments_class_id_fkey,
    VALIDATE CONSTRAINT enrollments_school_year_id_fkey;

ALTER TABLE fee_structures
    VALIDATE CONSTRAINT fee_structures_school_year_id_fkey;

ALTER TABLE payments
    VALIDATE CONSTRAINT payments_student_id_fkey,
    VALIDATE CONSTRAINT payments_school_year_id_fkey,
    VALIDATE CONSTRAINT payments_fee_structure_id_fkey;

ALTER TABLE marks
    VALIDATE CONSTRAINT marks_student_id_fkey,
    VALIDATE CONSTRAINT marks_class_id_fkey,
    VALIDATE CONSTRAINT marks_term_id_fkey;

COMMENT ON INDEX enrollments_school_year_id_idx
    IS 'serves the school year foreign key (enrollments_school_year_id_fkey)';

COMMENT ON INDEX payments_school_year_id_idx
    IS 'serves analytics.list_top_debtors and the school year foreign key (payments_school_year_id_fkey)';

COMMENT ON INDEX payments_fee_structure_id_idx
    IS 'serves the fee structure foreign key (payments_fee_structure_id_fkey) on fee deletes';

COMMENT ON INDEX marks_term_id_idx
    IS 'serves the term foreign key (marks_term_id_fkey) on term deletes';
