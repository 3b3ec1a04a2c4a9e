-- Validate the tenant foreign keys against the rows already there.
-- depends: 0051_add-tenant-foreign-keys

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- VALIDATE CONSTRAINT scans each table under SHARE UPDATE EXCLUSIVE, which lets
-- reads and writes go on (unlike adding a validated key, which blocks writes for
-- the whole scan). A row that points at another school's row fails here, naming
-- the constraint; fix or remove it, then apply again.
ALTER TABLE terms VALIDATE CONSTRAINT terms_school_id_school_year_id_fkey;

ALTER TABLE classes VALIDATE CONSTRAINT classes_school_id_school_year_id_fkey;

ALTER TABLE enrollments VALIDATE CONSTRAINT enrollments_school_id_student_id_fkey;

ALTER TABLE enrollments VALIDATE CONSTRAINT enrollments_school_id_class_id_fkey;

ALTER TABLE enrollments VALIDATE CONSTRAINT enrollments_school_id_school_year_id_fkey;

ALTER TABLE fee_structures VALIDATE CONSTRAINT fee_structures_school_id_school_year_id_fkey;

ALTER TABLE payments VALIDATE CONSTRAINT payments_school_id_student_id_fkey;

ALTER TABLE payments VALIDATE CONSTRAINT payments_school_id_school_year_id_fkey;

ALTER TABLE payments VALIDATE CONSTRAINT payments_school_id_fee_structure_id_fkey;

ALTER TABLE marks VALIDATE CONSTRAINT marks_school_id_student_id_fkey;

ALTER TABLE marks VALIDATE CONSTRAINT marks_school_id_class_id_fkey;

ALTER TABLE marks VALIDATE CONSTRAINT marks_school_id_term_id_fkey;
