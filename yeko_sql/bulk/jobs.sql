-- Jobs: the queue yeko_sql's Worker claims with FOR UPDATE SKIP LOCKED.
-- The table comes from yeko_sql/bulk/migrations; queue_queries(table=...) renames it.

-- name: enqueue_jobs :execrows
-- Queue many jobs in one statement: arrays from columns_of(JobInsert rows).
-- A NULL payload is {}, a NULL run_after is now; an id already queued is skipped.
-- Served by jobs_pkey.
INSERT INTO jobs (id, kind, payload, run_after)
SELECT j.id, j.kind, coalesce(j.payload, '{}'), coalesce(j.run_after, now())
FROM unnest(
    :id::text[],
    :kind::text[],
    :payload::jsonb[],
    :run_after::timestamptz[]
) AS j (id, kind, payload, run_after)
ON CONFLICT (id) DO NOTHING;

-- name: claim_jobs :many
-- returns: yeko_sql.bulk.queue.Job
-- Lock up to :limit due jobs of the given kinds for :worker, oldest first.
-- Concurrent workers skip each other's locked rows, so no job is claimed twice.
-- Served by jobs_run_after_id_where_queued_idx.
UPDATE jobs
SET status = 'running',
    locked_by = :worker,
    locked_at = now(),
    attempts = attempts + 1,
    updated_at = now()
WHERE id IN (
    SELECT id
    FROM jobs
    WHERE status = 'queued'
      AND run_after <= now()
      AND kind = ANY(:kinds)
    ORDER BY run_after, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, payload, status, run_after, attempts,
          locked_by, locked_at, last_error, created_at, updated_at;

-- name: complete_jobs :execrows
-- Mark jobs :worker is running as done; jobs it no longer holds are left alone.
-- Served by jobs_pkey.
UPDATE jobs
SET status = 'done',
    last_error = NULL,
    updated_at = now()
WHERE id = ANY(:ids)
  AND status = 'running'
  AND locked_by = :worker;

-- name: fail_jobs :execrows
-- Record failures (ids and errors, pairwise): a job goes back to the queue after
-- :backoff doubled per attempt made, until it has run :max_attempts times; then it
-- is failed for good and keeps the worker that ran it last.
-- Served by jobs_pkey.
UPDATE jobs AS j
SET status = CASE WHEN j.attempts >= :max_attempts THEN 'failed' ELSE 'queued' END,
    run_after = CASE
        WHEN j.attempts >= :max_attempts THEN j.run_after
        ELSE now() + :backoff::interval * power(2, least(j.attempts - 1, 16))
    END,
    locked_by = CASE WHEN j.attempts >= :max_attempts THEN j.locked_by END,
    locked_at = CASE WHEN j.attempts >= :max_attempts THEN j.locked_at END,
    last_error = f.error,
    updated_at = now()
FROM unnest(:ids::text[], :errors::text[]) AS f (id, error)
WHERE j.id = f.id
  AND j.status = 'running'
  AND j.locked_by = :worker;

-- name: requeue_stale_jobs :execrows
-- Give back jobs running for longer than :stale (their worker died): queued again,
-- or failed once they have run :max_attempts times.
-- Served by jobs_locked_at_where_running_idx.
UPDATE jobs
SET status = CASE WHEN attempts >= :max_attempts THEN 'failed' ELSE 'queued' END,
    run_after = now(),
    locked_by = NULL,
    locked_at = NULL,
    last_error = 'worker ' || locked_by || ' stopped before finishing',
    updated_at = now()
WHERE status = 'running'
  AND locked_at < now() - :stale::interval;

-- name: count_jobs_by_status :scalar
-- How many jobs are in each status, as {"queued": 3, "done": 10}.
-- Served by a sequential scan of jobs, a queue that stays small.
SELECT coalesce(jsonb_object_agg(c.status, c.jobs), '{}')
FROM (
    SELECT status, count(*) AS jobs
    FROM jobs
    GROUP BY status
) AS c;

-- name: get_job :one
-- returns: yeko_sql.bulk.queue.Job
-- One job by id.
-- Served by jobs_pkey.
SELECT id, kind, payload, status, run_after, attempts,
       locked_by, locked_at, last_error, created_at, updated_at
FROM jobs
WHERE id = :id;
