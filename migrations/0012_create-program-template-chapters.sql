-- Create program_template_chapters, the ordered chapters of a program template.
-- depends: 0011_create-program-templates

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE program_template_chapters (
    id text PRIMARY KEY CHECK (char_length(id) = 21),
    program_template_id text NOT NULL
        REFERENCES program_templates (id) ON DELETE CASCADE,
    title text NOT NULL,
    sort_order smallint NOT NULL CHECK (sort_order > 0),
    duration_hours smallint CHECK (duration_hours > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE program_template_chapters
    IS 'Chapters of a program template; deleted with their template';

CREATE INDEX program_template_chapters_program_template_id_sort_order_idx
    ON program_template_chapters (program_template_id, sort_order);

COMMENT ON INDEX program_template_chapters_program_template_id_sort_order_idx
    IS 'serves programs.list_program_template_chapters, programs.get_program_template and programs.delete_program_template_chapters';

CREATE TRIGGER program_template_chapters_set_updated_at
BEFORE UPDATE ON program_template_chapters
FOR EACH ROW
EXECUTE FUNCTION set_updated_at();
