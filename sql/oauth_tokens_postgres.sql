-- The OAuth2 token store in the shared state (smartdialog_sync/api/token_store.py owns this table).
-- One row per connection: the rotating refresh token and the current access token, with their dates
-- (epoch seconds). Parameters are :named (SQLAlchemy).

-- name: schema
CREATE TABLE IF NOT EXISTS sdsync_oauth_tokens (
    connection TEXT PRIMARY KEY,
    refresh_token TEXT,
    refresh_saved_at DOUBLE PRECISION,
    refresh_expires_at DOUBLE PRECISION,
    access_token TEXT,
    access_issued_at DOUBLE PRECISION,
    access_expires_at DOUBLE PRECISION,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- name: table_exists
SELECT to_regclass('sdsync_oauth_tokens') IS NOT NULL;

-- name: select
SELECT refresh_token, refresh_saved_at, refresh_expires_at, access_token, access_issued_at, access_expires_at
FROM sdsync_oauth_tokens WHERE connection = :connection;

-- name: insert_missing
-- The row to lock: inserted empty when the connection has none yet (a concurrent insert waits for ours).
INSERT INTO sdsync_oauth_tokens (connection) VALUES (:connection) ON CONFLICT (connection) DO NOTHING;

-- name: select_for_update
-- Held until the transaction ends: the refresh (read, token call, write) of one process at a time.
SELECT refresh_token, refresh_saved_at, refresh_expires_at, access_token, access_issued_at, access_expires_at
FROM sdsync_oauth_tokens WHERE connection = :connection FOR UPDATE;

-- name: lock_timeout
SELECT set_config('lock_timeout', :timeout, true);

-- name: update
UPDATE sdsync_oauth_tokens SET
    refresh_token = :refresh_token, refresh_saved_at = :refresh_saved_at, refresh_expires_at = :refresh_expires_at,
    access_token = :access_token, access_issued_at = :access_issued_at, access_expires_at = :access_expires_at,
    updated_at = now()
WHERE connection = :connection;

-- name: delete
DELETE FROM sdsync_oauth_tokens WHERE connection = :connection
RETURNING refresh_token IS NOT NULL OR access_token IS NOT NULL;

-- name: insert_copy
-- `sdsync state migrate`: a connection's tokens copied from a local store (after the conflict check).
INSERT INTO sdsync_oauth_tokens
    (connection, refresh_token, refresh_saved_at, refresh_expires_at, access_token, access_issued_at, access_expires_at)
VALUES (:connection, :refresh_token, :refresh_saved_at, :refresh_expires_at, :access_token, :access_issued_at,
        :access_expires_at)
ON CONFLICT (connection) DO UPDATE SET
    refresh_token = excluded.refresh_token, refresh_saved_at = excluded.refresh_saved_at,
    refresh_expires_at = excluded.refresh_expires_at, access_token = excluded.access_token,
    access_issued_at = excluded.access_issued_at, access_expires_at = excluded.access_expires_at, updated_at = now();

-- name: lock_table
-- A migration's conflict check and copy see no concurrent refresh in between.
LOCK TABLE sdsync_oauth_tokens IN SHARE ROW EXCLUSIVE MODE;
