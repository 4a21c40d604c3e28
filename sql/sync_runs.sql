-- The runs of declared syncs (pipelines/syncs/runs.py owns this table): one row per `sdsync run NAME` or
-- Dagster run, written as `running` before the job starts and given its outcome when it ends (a run killed
-- part way stays `running`). The same statements serve SQLite (<data_dir>/sync_runs.sqlite) and the shared
-- PostgreSQL; times are ISO 8601 UTC text written by the caller. Parameters are :named (SQLAlchemy).

-- name: schema_sqlite
CREATE TABLE IF NOT EXISTS sdsync_sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_key TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS sdsync_sync_runs_by_name ON sdsync_sync_runs (name, id);

-- name: schema_postgres
CREATE TABLE IF NOT EXISTS sdsync_sync_runs (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_key TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS sdsync_sync_runs_by_name ON sdsync_sync_runs (name, id);

-- name: start
INSERT INTO sdsync_sync_runs (name, kind, run_key, started_at, status) VALUES (:name, :kind, :run_key, :started_at, 'running')
RETURNING id;

-- name: finish
UPDATE sdsync_sync_runs SET finished_at = :finished_at, status = :status, summary = :summary WHERE id = :id;

-- name: last_runs
-- The latest run of each sync.
SELECT name, kind, run_key, started_at, finished_at, status, summary FROM sdsync_sync_runs
WHERE id IN (SELECT max(id) FROM sdsync_sync_runs GROUP BY name);
