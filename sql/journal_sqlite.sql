-- name: schema
CREATE TABLE IF NOT EXISTS journal_inbound (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    sender TEXT,
    recipient TEXT,
    content TEXT,
    protocol TEXT,
    sent_at_us INTEGER,
    attachments TEXT,
    received_at_us INTEGER NOT NULL,
    raw_values TEXT  -- JSON (ASCII) of the values normalised on the way in, as received
);
CREATE TABLE IF NOT EXISTS journal_dlr (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dlr_key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    recipient_id TEXT,
    address TEXT,
    status TEXT,
    status_time_us INTEGER,
    error_code TEXT,
    query TEXT NOT NULL,
    received_at_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_registrations (
    customer TEXT NOT NULL,
    service TEXT NOT NULL,
    endpoint_fingerprint TEXT NOT NULL,
    endpoint_url_masked TEXT NOT NULL,
    pipeline_id TEXT,
    action_id TEXT,
    location TEXT,
    registered_at_us INTEGER NOT NULL,
    PRIMARY KEY (customer, service)
);
CREATE TABLE IF NOT EXISTS journal_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,  -- inbound | dlr
    reason TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body BLOB NOT NULL,  -- the request body (inbound) or query string (dlr), cut at a bound
    body_size INTEGER NOT NULL,  -- the size received or announced; more than the body when it was cut
    received_at_us INTEGER NOT NULL,
    replayed_at_us INTEGER,  -- set once a replay journaled it
    replay_error TEXT  -- why the last replay refused it
);
CREATE TABLE IF NOT EXISTS journal_discarded_letters (
    -- the audit of `sdsync journal dead-letters --discard`: each discarded dead letter as it was, and when
    letter_id INTEGER NOT NULL,  -- its id in journal_dead_letters (not a key: a migrated journal may number anew)
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body BLOB NOT NULL,
    body_size INTEGER NOT NULL,
    received_at_us INTEGER NOT NULL,
    replay_error TEXT,
    discarded_at_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_pull_marks (
    pipeline TEXT NOT NULL,
    table_name TEXT NOT NULL,  -- inbound | dlr
    seq INTEGER NOT NULL,  -- every row up to this sequence is loaded at the pipeline's destination
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (pipeline, table_name)
);

-- name: insert_inbound
INSERT INTO journal_inbound
    (message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us, raw_values)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (message_id) DO NOTHING;

-- name: insert_dlr
INSERT INTO journal_dlr
    (dlr_key, message_id, recipient_id, address, status, status_time_us, error_code, query, received_at_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (dlr_key) DO NOTHING;

-- name: read_inbound
SELECT seq, message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us, raw_values
FROM journal_inbound WHERE seq > ? ORDER BY seq LIMIT ?;

-- name: read_dlr
SELECT seq, dlr_key, message_id, recipient_id, address, status, status_time_us, error_code, query, received_at_us
FROM journal_dlr WHERE seq > ? ORDER BY seq LIMIT ?;

-- name: count_rows
SELECT (SELECT COUNT(*) FROM journal_inbound), (SELECT COUNT(*) FROM journal_dlr);

-- name: get_registration
SELECT customer, service, endpoint_fingerprint, endpoint_url_masked, pipeline_id, action_id, location, registered_at_us
FROM journal_registrations WHERE customer = ? AND service = ?;

-- name: list_registrations
SELECT customer, service, endpoint_fingerprint, endpoint_url_masked, pipeline_id, action_id, location, registered_at_us
FROM journal_registrations ORDER BY customer, service;

-- name: save_registration
INSERT INTO journal_registrations
    (customer, service, endpoint_fingerprint, endpoint_url_masked, pipeline_id, action_id, location, registered_at_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (customer, service) DO UPDATE SET
    endpoint_fingerprint = excluded.endpoint_fingerprint,
    endpoint_url_masked = excluded.endpoint_url_masked,
    pipeline_id = excluded.pipeline_id,
    action_id = excluded.action_id,
    location = excluded.location,
    registered_at_us = excluded.registered_at_us;

-- name: delete_registration
DELETE FROM journal_registrations WHERE customer = ? AND service = ?;

-- name: count_dead_letters
SELECT COUNT(*) FROM journal_dead_letters WHERE replayed_at_us IS NULL;

-- name: insert_dead_letter
INSERT INTO journal_dead_letters (kind, reason, status_code, body, body_size, received_at_us)
VALUES (?, ?, ?, ?, ?, ?);

-- name: list_dead_letters
SELECT id, kind, reason, status_code, body, body_size, received_at_us, replayed_at_us, replay_error
FROM journal_dead_letters WHERE ? OR replayed_at_us IS NULL ORDER BY id;

-- name: mark_replayed
UPDATE journal_dead_letters SET replayed_at_us = ?, replay_error = NULL WHERE id = ?;

-- name: set_replay_error
UPDATE journal_dead_letters SET replay_error = ? WHERE id = ?;

-- name: waiting_dead_letter_ids
SELECT id FROM journal_dead_letters WHERE replayed_at_us IS NULL ORDER BY id;

-- name: audit_discarded_letter
-- Parameters: discarded_at_us, id. Only a dead letter still waiting (never one a replay journaled).
INSERT INTO journal_discarded_letters (letter_id, kind, reason, status_code, body, body_size, received_at_us, replay_error,
                                       discarded_at_us)
SELECT id, kind, reason, status_code, body, body_size, received_at_us, replay_error, ?
FROM journal_dead_letters WHERE id = ? AND replayed_at_us IS NULL;

-- name: delete_discarded_letter
DELETE FROM journal_dead_letters WHERE id = ? AND replayed_at_us IS NULL;

-- name: list_discarded_letters
SELECT letter_id, kind, reason, status_code, body, body_size, received_at_us, replay_error, discarded_at_us
FROM journal_discarded_letters ORDER BY discarded_at_us, letter_id;

-- name: count_discarded_letters
SELECT COUNT(*) FROM journal_discarded_letters;

-- name: save_pull_mark
INSERT INTO journal_pull_marks (pipeline, table_name, seq, updated_at_us) VALUES (?, ?, ?, ?)
ON CONFLICT (pipeline, table_name) DO UPDATE SET seq = excluded.seq, updated_at_us = excluded.updated_at_us;

-- name: list_pull_marks
SELECT pipeline, table_name, seq, updated_at_us FROM journal_pull_marks ORDER BY pipeline, table_name;

-- name: delete_pull_marks
DELETE FROM journal_pull_marks WHERE pipeline = ?;

-- name: prune_inbound
-- Only rows older than the cutoff that every pipeline that pulls the journal has loaded.
DELETE FROM journal_inbound
WHERE received_at_us < ?
  AND seq <= (SELECT MIN(seq) FROM journal_pull_marks WHERE table_name = 'inbound');

-- name: prune_dlr
DELETE FROM journal_dlr
WHERE received_at_us < ?
  AND seq <= (SELECT MIN(seq) FROM journal_pull_marks WHERE table_name = 'dlr');

-- name: prune_dead_letters
-- Only dead letters that a replay journaled already.
DELETE FROM journal_dead_letters WHERE received_at_us < ? AND replayed_at_us IS NOT NULL;

-- name: has_inbound
-- Whether the journal's inbound table exists (a reader never creates it).
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal_inbound';

-- name: opt_out_senders
-- Senders of a stop reply, with the time of their latest one. A stop reply is an inbound message whose
-- content, without the characters of the first parameter around it and upper-cased, is one of the stop
-- keywords (the second parameter, a JSON array of upper-case words); the same definition as
-- campaign_opt_outs.sql on the pulled dataset. The reader registers a Unicode upper() (SQLite's is ASCII only).
SELECT sender, max(received_at_us)
FROM journal_inbound
WHERE sender IS NOT NULL
  AND upper(trim(content, ?)) IN (SELECT value FROM json_each(?))
GROUP BY sender
ORDER BY sender;
