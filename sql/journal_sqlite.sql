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
    received_at_us INTEGER NOT NULL
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

-- name: insert_inbound
INSERT INTO journal_inbound
    (message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (message_id) DO NOTHING;

-- name: insert_dlr
INSERT INTO journal_dlr
    (dlr_key, message_id, recipient_id, address, status, status_time_us, error_code, query, received_at_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (dlr_key) DO NOTHING;

-- name: read_inbound
SELECT seq, message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us
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
