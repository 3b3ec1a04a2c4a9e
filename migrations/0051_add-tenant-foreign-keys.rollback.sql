-- Drop the foreign keys that carry school_id.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Removing the keys this migration added is the point of its rollback.
-- squawk-ignore-file ban-drop-constraint
ALTER TABLE marks DROP CONSTRAINT marks_school_id_term_id_fkey;

ALTER TABLE marks DROP CONSTRAINT marks_school_id_class_id_fkey;

ALTER TABLE marks DROP CONSTRAINT marks_school_id_student_id_fkey;

ALTER TABLE payments DROP CONSTRAINT payments_school_id_fee_structure_id_fkey;

ALTER TABLE payments DROP CONSTRAINT payments_school_id_school_year_id_fkey;

ALTER TABLE payments DROP CONSTRAINT payments_school_id_student_id_fkey;

ALTER TABLE fee_structures DROP CONSTRAINT fee_structures_school_id_school_year_id_fkey;

ALTER TABLE enrollments DROP CONSTRAINT enrollments_school_id_school_year_id_fkey;

ALTER TABLE enrollments DROP CONSTRAINT enrollments_school_id_class_id_fkey;

ALTER TABLE enrollments DROP CONSTRAINT enrollments_school_id_student_id_fkey;

ALTER TABLE classes DROP CONSTRAINT classes_school_id_school_year_id_fkey;

ALTER TABLE terms DROP CONSTRAINT terms_school_id_school_year_id_fkey;
