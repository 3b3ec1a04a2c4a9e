-- Drop program_template_chapters.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

DROP TABLE program_template_chapters;
