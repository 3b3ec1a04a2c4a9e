-- Revoke yeko_app's grants in this database; the cluster-wide role itself stays.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Other databases of the cluster may still use yeko_app, so it is not dropped.
REVOKE ALL ON payments FROM yeko_app;

REVOKE ALL
ON
    schools, users, user_schools, school_year_templates, school_years, terms,
    tracks, grades, series, subjects, program_templates, program_template_chapters,
    coefficient_templates, classes, students, enrollments, fee_structures, marks,
    jobs
FROM yeko_app;

REVOKE ALL ON SCHEMA public FROM yeko_app;
