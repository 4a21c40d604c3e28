-- name: schema
CREATE TABLE IF NOT EXISTS journal_inbound (
    seq BIGSERIAL PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    sender TEXT,
    recipient TEXT,
    content TEXT,
    protocol TEXT,
    sent_at_us BIGINT,
    attachments TEXT,
    received_at_us BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_dlr (
    seq BIGSERIAL PRIMARY KEY,
    dlr_key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    recipient_id TEXT,
    address TEXT,
    status TEXT,
    status_time_us BIGINT,
    error_code TEXT,
    query TEXT NOT NULL,
    received_at_us BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_registrations (
    customer TEXT NOT NULL,
    service TEXT NOT NULL,
    endpoint_fingerprint TEXT NOT NULL,
    endpoint_url_masked TEXT NOT NULL,
    pipeline_id TEXT,
    action_id TEXT,
    location TEXT,
    registered_at_us BIGINT NOT NULL,
    PRIMARY KEY (customer, service)
);

-- name: writer_lock
-- Serialises writers of all receiver instances, so that sequence order is commit order and a reader
-- that saw sequence N never later finds a smaller one committed.
SELECT pg_advisory_xact_lock(727274001);

-- name: registration_lock
SELECT pg_advisory_lock(727274002);

-- name: registration_unlock
SELECT pg_advisory_unlock(727274002);

-- name: insert_inbound
-- One statement for a whole batch: each parameter is the array of one column.
INSERT INTO journal_inbound
    (message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us)
SELECT * FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::bigint[]
)
ON CONFLICT (message_id) DO NOTHING;

-- name: insert_dlr
INSERT INTO journal_dlr
    (dlr_key, message_id, recipient_id, address, status, status_time_us, error_code, query, received_at_us)
SELECT * FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::bigint[]
)
ON CONFLICT (dlr_key) DO NOTHING;

-- name: read_inbound
SELECT seq, message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us
FROM journal_inbound WHERE seq > %s ORDER BY seq LIMIT %s;

-- name: read_dlr
SELECT seq, dlr_key, message_id, recipient_id, address, status, status_time_us, error_code, query, received_at_us
FROM journal_dlr WHERE seq > %s ORDER BY seq LIMIT %s;

-- name: count_rows
SELECT (SELECT COUNT(*) FROM journal_inbound), (SELECT COUNT(*) FROM journal_dlr);

-- name: get_registration
SELECT customer, service, endpoint_fingerprint, endpoint_url_masked, pipeline_id, action_id, location, registered_at_us
FROM journal_registrations WHERE customer = %s AND service = %s;

-- name: list_registrations
SELECT customer, service, endpoint_fingerprint, endpoint_url_masked, pipeline_id, action_id, location, registered_at_us
FROM journal_registrations ORDER BY customer, service;

-- name: save_registration
INSERT INTO journal_registrations
    (customer, service, endpoint_fingerprint, endpoint_url_masked, pipeline_id, action_id, location, registered_at_us)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (customer, service) DO UPDATE SET
    endpoint_fingerprint = excluded.endpoint_fingerprint,
    endpoint_url_masked = excluded.endpoint_url_masked,
    pipeline_id = excluded.pipeline_id,
    action_id = excluded.action_id,
    location = excluded.location,
    registered_at_us = excluded.registered_at_us;

-- name: delete_registration
DELETE FROM journal_registrations WHERE customer = %s AND service = %s;
