-- Programs: the global syllabus of a subject for a grade in a template year, as
-- ordered chapters. Drafts are edited, then published; chapters go with their
-- template (ON DELETE CASCADE).

-- name: create_program_template :one
-- returns: ProgramTemplate
-- Create a draft program from a ProgramTemplateInsert; a second program for the
-- same template year, grade and subject raises UniqueViolation.
-- Served by program_templates_pkey and program_templates_template_grade_subject_key
-- (uniqueness checks).
INSERT INTO program_templates (id, school_year_template_id, grade_id, subject_id, name)
VALUES (:id, :school_year_template_id, :grade_id, :subject_id, :name)
RETURNING id, school_year_template_id, grade_id, subject_id, name, status,
          created_at, updated_at;

-- name: upsert_program_templates :execrows
-- Insert or update programs by their natural key (template year, grade and
-- subject), one array per ProgramTemplateInsert field: columns_of(inserts). A
-- known program keeps its id and status and takes the new name. Counts only
-- programs inserted or renamed.
-- Served by program_templates_template_grade_subject_key.
INSERT INTO program_templates (id, school_year_template_id, grade_id, subject_id, name)
SELECT id, school_year_template_id, grade_id, subject_id, name
FROM unnest(
    :id::text[], :school_year_template_id::text[], :grade_id::text[],
    :subject_id::text[], :name::text[]
) AS p (id, school_year_template_id, grade_id, subject_id, name)
ON CONFLICT (school_year_template_id, grade_id, subject_id) DO UPDATE
SET name = EXCLUDED.name,
    updated_at = now()
WHERE program_templates.name <> EXCLUDED.name;

-- name: get_program_template :one
-- returns: ProgramDetail
-- budget: 10ms
-- One program with its grade and subject names and its chapters in order.
-- Served by program_templates_pkey and
-- program_template_chapters_program_template_id_sort_order_idx (a sequential scan of
-- program_templates while it holds a few hundred rows).
SELECT p.id, p.school_year_template_id, p.grade_id, p.subject_id, p.name, p.status,
       p.created_at, p.updated_at,
       g.name AS grade_name,
       s.name AS subject_name,
       coalesce(
           (
               SELECT jsonb_agg(
                   jsonb_build_object(
                       'id', c.id,
                       'title', c.title,
                       'sort_order', c.sort_order,
                       'duration_hours', c.duration_hours
                   )
                   ORDER BY c.sort_order, c.id
               )
               FROM program_template_chapters AS c
               WHERE c.program_template_id = p.id
           ),
           '[]'::jsonb
       ) AS chapters
FROM program_templates AS p
JOIN grades AS g ON g.id = p.grade_id
JOIN subjects AS s ON s.id = p.subject_id
WHERE p.id = :id;

-- name: list_program_templates :many
-- returns: ProgramSummary
-- budget: 10ms
-- The programs of one grade in a template year, by subject, with how many
-- chapters and hours each has.
-- Served by program_templates_template_grade_subject_key and
-- program_template_chapters_program_template_id_sort_order_idx (a sequential scan of
-- program_templates while it holds a few hundred rows).
SELECT p.id, p.subject_id, s.name AS subject_name, p.name, p.status,
       c.chapter_count, c.total_hours
FROM program_templates AS p
JOIN subjects AS s ON s.id = p.subject_id
CROSS JOIN LATERAL (
    SELECT count(*) AS chapter_count,
           coalesce(sum(duration_hours), 0) AS total_hours
    FROM program_template_chapters
    WHERE program_template_id = p.id
) AS c
WHERE p.school_year_template_id = :school_year_template_id
  AND p.grade_id = :grade_id
ORDER BY s.name, p.id;

-- name: list_program_template_chapters :many
-- returns: ProgramChapter
-- budget: 10ms
-- The chapters of one program, in order.
-- Served by program_template_chapters_program_template_id_sort_order_idx.
SELECT id, program_template_id, title, sort_order, duration_hours,
       created_at, updated_at
FROM program_template_chapters
WHERE program_template_id = :program_template_id
ORDER BY sort_order, id;

-- name: upsert_program_template_chapters :execrows
-- Insert or update the chapters of one program by id (the chapter editor's
-- save), one array per column: columns_of(ChapterSummary rows). An id that belongs
-- to another program is left alone. Counts only chapters inserted or changed.
-- Served by program_template_chapters_pkey. There is no unique key on
-- (program_template_id, sort_order) to upsert on instead.
INSERT INTO program_template_chapters (
    id, program_template_id, title, sort_order, duration_hours
)
SELECT id, :program_template_id, title, sort_order, duration_hours
FROM unnest(
    :id::text[], :title::text[], :sort_order::smallint[], :duration_hours::smallint[]
) AS c (id, title, sort_order, duration_hours)
ON CONFLICT (id) DO UPDATE
SET title = EXCLUDED.title,
    sort_order = EXCLUDED.sort_order,
    duration_hours = EXCLUDED.duration_hours,
    updated_at = now()
WHERE program_template_chapters.program_template_id = EXCLUDED.program_template_id
  AND (
      program_template_chapters.title,
      program_template_chapters.sort_order,
      program_template_chapters.duration_hours
  ) IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.sort_order, EXCLUDED.duration_hours);

-- name: delete_program_template_chapters :execrows
-- Delete a program's chapters except those in :keep_ids (after the editor's save,
-- the chapters it no longer shows); an empty list deletes them all.
-- Served by program_template_chapters_program_template_id_sort_order_idx.
DELETE FROM program_template_chapters
WHERE program_template_id = :program_template_id
  AND id <> ALL(:keep_ids::text[]);

-- name: publish_program_template :execrows
-- Publish a draft program; 0 when it is not a draft.
-- Served by program_templates_pkey.
UPDATE program_templates
SET status = 'published'
WHERE id = :id
  AND status = 'draft';

-- name: archive_program_template :execrows
-- Archive a program (kept for history, hidden from day-to-day lists).
-- Served by program_templates_pkey.
UPDATE program_templates
SET status = 'archived'
WHERE id = :id
  AND status <> 'archived';
