-- Read-only queries of `sdsync status` over the local stores. Sections start with "-- name: <statement>".
-- Parameters are :named (sqlite3 and SQLAlchemy) or $named (DuckDB). A table that may be missing is
-- looked up in the store's table list first: a missing table means "none", never an error.

-- name: sqlite_tables
SELECT name FROM sqlite_master WHERE type = 'table';

-- name: postgres_tables
SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema();

-- name: duckdb_tables
SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema();

-- name: limiter_window_sqlite
-- Slots still inside the window (older ones are deleted lazily by the next caller).
SELECT connection, count(*), min(at) FROM api_calls WHERE at > :since GROUP BY connection ORDER BY connection;

-- name: postgres_now
SELECT extract(epoch from clock_timestamp());

-- name: limiter_window_postgres
SELECT connection, count(*), min(at) FROM sdsync_api_calls WHERE at > :since GROUP BY connection ORDER BY connection;

-- name: contacts_last_runs
SELECT run_id, customer, group_service, mode, dry_run, status, started_at, finished_at, source_rows, creates, updates,
       deletes, unchanged, rejected, applied, failed, calls, error
FROM sync_runs
QUALIFY row_number() OVER (PARTITION BY customer, group_service ORDER BY run_id DESC) = 1
ORDER BY customer, group_service;

-- name: contacts_open_ops
SELECT customer, group_service, status, count(*) FROM contact_ops
WHERE status IN ('planned', 'inflight', 'interrupted') GROUP BY ALL ORDER BY ALL;

-- name: contacts_server_rejections
SELECT customer, group_service, count(*) FROM server_rejections GROUP BY ALL;

-- name: contacts_rejected_rows
-- CRM rows the last run of each group left out (written before its first call, so an interrupted run has them).
SELECT r.customer, r.group_service, count(*) FROM rejected_rows r
WHERE r.run_id = (SELECT max(s.run_id) FROM sync_runs s WHERE s.customer = r.customer AND s.group_service = r.group_service)
GROUP BY ALL;

-- name: contacts_known
SELECT customer, group_service, count(*) FROM contact_state GROUP BY ALL;

