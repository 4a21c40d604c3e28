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

