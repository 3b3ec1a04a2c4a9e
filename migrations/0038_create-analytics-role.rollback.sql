-- Drop the analytics_read policies and revoke yeko_analytics's grants here.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

-- Other databases of the cluster may still use yeko_analytics: it is not dropped.
DROP POLICY analytics_read ON schools;

DROP POLICY analytics_read ON user_schools;

DROP POLICY analytics_read ON school_years;

DROP POLICY analytics_read ON terms;

DROP POLICY analytics_read ON classes;

DROP POLICY analytics_read ON students;

DROP POLICY analytics_read ON enrollments;

DROP POLICY analytics_read ON fee_structures;

DROP POLICY analytics_read ON payments;

DROP POLICY analytics_read ON marks;

DROP POLICY analytics_read ON jobs;

REVOKE ALL
ON
    schools, users, user_schools, school_year_templates, school_years, terms,
    tracks, grades, series, subjects, program_templates, program_template_chapters,
    coefficient_templates, classes, students, enrollments, fee_structures,
    payments, marks, jobs
FROM yeko_analytics;

REVOKE ALL ON SCHEMA public FROM yeko_analytics;
