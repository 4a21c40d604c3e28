-- The limiter's window in PostgreSQL (smartdialog_sync/api/limiter.py owns this table), shared by every
-- machine using the database. Times are the server's clock, epoch seconds. Parameters are :named
-- (SQLAlchemy). The same statement names are in limiter_sqlite.sql.

-- name: schema
CREATE TABLE IF NOT EXISTS sdsync_api_calls
    (id BIGSERIAL PRIMARY KEY, connection TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS sdsync_api_calls_by_connection ON sdsync_api_calls (connection, at);

-- name: lock
-- One taker per connection at a time, across machines (held until the transaction ends).
SELECT pg_advisory_xact_lock(hashtext(:key));

-- name: expire
DELETE FROM sdsync_api_calls WHERE connection = :key AND at <= extract(epoch from clock_timestamp()) - :window;

-- name: count
SELECT count(*), min(at), extract(epoch from clock_timestamp()) FROM sdsync_api_calls WHERE connection = :key;

-- name: take
INSERT INTO sdsync_api_calls (connection, at) VALUES (:key, extract(epoch from clock_timestamp())) RETURNING id;

-- name: release
UPDATE sdsync_api_calls SET at = greatest(at, extract(epoch from clock_timestamp())) WHERE id = :row;

-- name: table_exists
SELECT to_regclass('sdsync_api_calls') IS NOT NULL;

-- name: now
SELECT extract(epoch from clock_timestamp());

-- name: window
-- `sdsync status`: slots still inside the window per connection.
SELECT connection, count(*), min(at) FROM sdsync_api_calls WHERE at > :since GROUP BY connection ORDER BY connection;
