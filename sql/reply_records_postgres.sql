-- The record of replies sent by `sdsync reply` in the shared state (PostgreSQL) (destinations/campaigns/replies.py owns this
-- table; sql/reply_records_sqlite.sql has the same statements for a local file). One row per reply id
-- (its RequestId): `in_flight` is committed before the call, `sent` (with the MessageId) or `failed` (the
-- service refused it: nothing sent) after it. A row left `in_flight` is a reply whose outcome is unknown.
-- Parameters are :named (SQLAlchemy).

-- name: schema
CREATE TABLE IF NOT EXISTS reply_records (
    reply_id TEXT PRIMARY KEY,
    operation TEXT NOT NULL CHECK (operation IN ('SendReplyMessage', 'SendDiscussionReplyMessage')),
    customer_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,   -- digest of the reply (target, sender, recipients, content): one id, one reply
    status TEXT NOT NULL CHECK (status IN ('in_flight', 'sent', 'failed')),
    message_id TEXT,
    error TEXT,
    attempted_at TEXT NOT NULL,  -- ISO 8601 UTC of the last call's start
    updated_at TEXT NOT NULL
);

-- name: find
SELECT reply_id, operation, customer_id, fingerprint, status, message_id, error, attempted_at, updated_at
FROM reply_records WHERE reply_id = :reply_id;

-- name: start
-- Before the call: a new reply, or one that was refused before (never one in flight or sent).
INSERT INTO reply_records (reply_id, operation, customer_id, fingerprint, status, attempted_at, updated_at)
VALUES (:reply_id, :operation, :customer_id, :fingerprint, 'in_flight', :now, :now)
ON CONFLICT (reply_id) DO UPDATE SET status = 'in_flight', error = NULL, attempted_at = :now, updated_at = :now
WHERE reply_records.status = 'failed' AND reply_records.fingerprint = :fingerprint;

-- name: finish
UPDATE reply_records SET status = :status, message_id = :message_id, error = :error, updated_at = :now
WHERE reply_id = :reply_id AND status = 'in_flight';

-- name: export
SELECT reply_id, operation, customer_id, fingerprint, status, message_id, error, attempted_at, updated_at
FROM reply_records ORDER BY reply_id;

-- name: import
-- `sdsync state migrate`: a local row not yet in the shared state (a different one under the same id is refused first).
INSERT INTO reply_records (reply_id, operation, customer_id, fingerprint, status, message_id, error, attempted_at, updated_at)
VALUES (:reply_id, :operation, :customer_id, :fingerprint, :status, :message_id, :error, :attempted_at, :updated_at)
ON CONFLICT (reply_id) DO NOTHING;
