-- Create jobs, the queue yeko_sql's Worker claims with FOR UPDATE SKIP LOCKED.

SET LOCAL lock_timeout = '5s';

SET LOCAL statement_timeout = '60s';

CREATE TABLE jobs (
    id text PRIMARY KEY CHECK (id <> ''),
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    payload jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_after timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    locked_by text,
    locked_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_status_locked_by_locked_at_check
        CHECK (status <> 'running' OR (locked_by IS NOT NULL AND locked_at IS NOT NULL))
);

COMMENT ON TABLE jobs
    IS 'Work queue of yeko_sql''s Worker: claimed by kind, FOR UPDATE SKIP LOCKED';

COMMENT ON COLUMN jobs.kind
    IS 'What to run, an open set named like queries: send_receipt, fees.remind';

CREATE INDEX jobs_run_after_id_where_queued_idx
    ON jobs (run_after, id)
    WHERE status = 'queued';

COMMENT ON INDEX jobs_run_after_id_where_queued_idx
    IS 'serves jobs.claim_jobs (FOR UPDATE SKIP LOCKED)';

CREATE INDEX jobs_locked_at_where_running_idx
    ON jobs (locked_at)
    WHERE status = 'running';

COMMENT ON INDEX jobs_locked_at_where_running_idx
    IS 'serves jobs.requeue_stale_jobs';
