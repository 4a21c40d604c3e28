-- The limiter's window in a SQLite file (smartdialog_sync/api/limiter.py owns this table).
-- One row per call slot: the connection and when it was taken (or finished), epoch seconds.
-- Parameters are :named (sqlite3). The same statement names are in limiter_postgres.sql.

-- name: schema
CREATE TABLE IF NOT EXISTS api_calls (connection TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS api_calls_by_connection ON api_calls (connection, at);

-- name: expire
DELETE FROM api_calls WHERE connection = :key AND at <= :now - :window;

-- name: count
SELECT count(*), min(at) FROM api_calls WHERE connection = :key;

-- name: take
INSERT INTO api_calls (connection, at) VALUES (:key, :now);

-- name: release
UPDATE api_calls SET at = max(at, :now) WHERE rowid = :row;

-- name: table_exists
SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'api_calls';

-- name: window
-- `sdsync status`: slots still inside the window per connection (older ones are deleted lazily by the next caller).
SELECT connection, count(*), min(at) FROM api_calls WHERE at > :since GROUP BY connection ORDER BY connection;
