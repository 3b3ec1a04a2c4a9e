-- Drop the single-column foreign keys that the tenant keys make redundant.
-- depends: 0052_validate-tenant-foreign-keys

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- (school_id, class_id) REFERENCES classes (school_id, id) already proves that
-- the class exists; the old class_id REFERENCES classes (id) only cost every
-- insert and update a second lookup. The keys to schools (school_id) and to the
-- global catalog (grade_id, subject_id...) stay. Dropping them removes no
-- guarantee, so squawk's ban-drop-constraint does not apply to this file.
-- squawk-ignore-file ban-drop-constraint
ALTER TABLE terms DROP CONSTRAINT terms_school_year_id_fkey;

ALTER TABLE classes DROP CONSTRAINT classes_school_year_id_fkey;

ALTER TABLE enrollments DROP CONSTRAINT enrollments_student_id_fkey;

ALTER TABLE enrollments DROP CONSTRAINT enrollments_class_id_fkey;

ALTER TABLE enrollments DROP CONSTRAINT enrollments_school_year_id_fkey;

ALTER TABLE fee_structures DROP CONSTRAINT fee_structures_school_year_id_fkey;

ALTER TABLE payments DROP CONSTRAINT payments_student_id_fkey;

ALTER TABLE payments DROP CONSTRAINT payments_school_year_id_fkey;

ALTER TABLE payments DROP CONSTRAINT payments_fee_structure_id_fkey;

ALTER TABLE marks DROP CONSTRAINT marks_student_id_fkey;

ALTER TABLE marks DROP CONSTRAINT marks_class_id_fkey;

ALTER TABLE marks DROP CONSTRAINT marks_term_id_fkey;

-- Indexes that named a dropped key now name the tenant key they back.
COMMENT ON INDEX enrollments_school_year_id_idx
    IS 'serves the school year foreign key (enrollments_school_id_school_year_id_fkey), which enrollments_school_id_school_year_id_status_idx also backs';

COMMENT ON INDEX payments_school_year_id_idx
    IS 'serves analytics.list_top_debtors and the school year foreign key (payments_school_id_school_year_id_fkey)';

COMMENT ON INDEX payments_fee_structure_id_idx
    IS 'serves the fee structure foreign key (payments_school_id_fee_structure_id_fkey) on fee deletes';

COMMENT ON INDEX marks_term_id_idx
    IS 'serves the term foreign key (marks_school_id_term_id_fkey), which marks_school_id_term_id_idx also backs';
