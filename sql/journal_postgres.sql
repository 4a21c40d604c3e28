-- name: schema
-- Serialised with every store's schema script (state.postgres.ensure_schema): concurrent first runs never race.
SELECT pg_advisory_xact_lock(hashtext('sdsync_state_schema'));
CREATE TABLE IF NOT EXISTS journal_inbound (
    seq BIGSERIAL PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    sender TEXT,
    recipient TEXT,
    content TEXT,
    protocol TEXT,
    sent_at_us BIGINT,
    attachments TEXT,
    received_at_us BIGINT NOT NULL,
    raw_values TEXT  -- JSON (ASCII) of the values normalised on the way in, as received
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
CREATE TABLE IF NOT EXISTS journal_dead_letters (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,  -- inbound | dlr
    reason TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body BYTEA NOT NULL,  -- the request body (inbound) or query string (dlr), cut at a bound
    body_size BIGINT NOT NULL,  -- the size received or announced; more than the body when it was cut
    received_at_us BIGINT NOT NULL,
    replayed_at_us BIGINT,  -- set once a replay journaled it
    replay_error TEXT  -- why the last replay refused it
);
CREATE TABLE IF NOT EXISTS journal_discarded_letters (
    -- the audit of `sdsync journal dead-letters --discard`: each discarded dead letter as it was, and when
    letter_id BIGINT NOT NULL,  -- its id in journal_dead_letters (not a key: a migrated journal may number anew)
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body BYTEA NOT NULL,
    body_size BIGINT NOT NULL,
    received_at_us BIGINT NOT NULL,
    replay_error TEXT,
    discarded_at_us BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_pull_marks (
    pipeline TEXT NOT NULL,
    table_name TEXT NOT NULL,  -- inbound | dlr
    seq BIGINT NOT NULL,  -- every row up to this sequence is loaded at the pipeline's destination
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (pipeline, table_name)
);
CREATE TABLE IF NOT EXISTS journal_receiver_secret (
    id SMALLINT PRIMARY KEY CHECK (id = 1),  -- one secret for every receiver sharing this journal
    secret TEXT NOT NULL,  -- the webhook URLs' path secret (needed in clear to build those URLs)
    created_at_us BIGINT NOT NULL
);
ALTER TABLE journal_inbound ADD COLUMN IF NOT EXISTS raw_values TEXT;

-- name: writer_lock
-- Serialises writers of all receiver instances, so that sequence order is commit order and a reader
-- that saw sequence N never later finds a smaller one committed.
SELECT pg_advisory_xact_lock(727274001);

-- name: registration_lock
SELECT pg_advisory_lock(727274002);

-- name: registration_unlock
SELECT pg_advisory_unlock(727274002);

-- name: seed_receiver_secret
INSERT INTO journal_receiver_secret (id, secret, created_at_us) VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING;

-- name: get_receiver_secret
SELECT secret FROM journal_receiver_secret WHERE id = 1;

-- name: insert_inbound
-- One statement for a whole batch: each parameter is the array of one column.
INSERT INTO journal_inbound
    (message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us, raw_values)
SELECT * FROM unnest(
    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::text[]
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
SELECT seq, message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us, raw_values
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

-- name: count_dead_letters
SELECT COUNT(*) FROM journal_dead_letters WHERE replayed_at_us IS NULL;

-- name: insert_dead_letter
INSERT INTO journal_dead_letters (kind, reason, status_code, body, body_size, received_at_us)
VALUES (%s, %s, %s, %s, %s, %s);

-- name: list_dead_letters
SELECT id, kind, reason, status_code, body, body_size, received_at_us, replayed_at_us, replay_error
FROM journal_dead_letters WHERE %s OR replayed_at_us IS NULL ORDER BY id;

-- name: mark_replayed
UPDATE journal_dead_letters SET replayed_at_us = %s, replay_error = NULL WHERE id = %s;

-- name: set_replay_error
UPDATE journal_dead_letters SET replay_error = %s WHERE id = %s;

-- name: waiting_dead_letter_ids
SELECT id FROM journal_dead_letters WHERE replayed_at_us IS NULL ORDER BY id;

-- name: audit_discarded_letter
-- Parameters: discarded_at_us, id. Only a dead letter still waiting (never one a replay journaled).
INSERT INTO journal_discarded_letters (letter_id, kind, reason, status_code, body, body_size, received_at_us, replay_error,
                                       discarded_at_us)
SELECT id, kind, reason, status_code, body, body_size, received_at_us, replay_error, %s
FROM journal_dead_letters WHERE id = %s AND replayed_at_us IS NULL;

-- name: delete_discarded_letter
DELETE FROM journal_dead_letters WHERE id = %s AND replayed_at_us IS NULL;

-- name: list_discarded_letters
SELECT letter_id, kind, reason, status_code, body, body_size, received_at_us, replay_error, discarded_at_us
FROM journal_discarded_letters ORDER BY discarded_at_us, letter_id;

-- name: count_discarded_letters
SELECT COUNT(*) FROM journal_discarded_letters;

-- name: save_pull_mark
INSERT INTO journal_pull_marks (pipeline, table_name, seq, updated_at_us) VALUES (%s, %s, %s, %s)
ON CONFLICT (pipeline, table_name) DO UPDATE SET seq = excluded.seq, updated_at_us = excluded.updated_at_us;

-- name: list_pull_marks
SELECT pipeline, table_name, seq, updated_at_us FROM journal_pull_marks ORDER BY pipeline, table_name;

-- name: delete_pull_marks
DELETE FROM journal_pull_marks WHERE pipeline = %s;

-- name: prune_inbound
-- Only rows older than the cutoff that every pipeline that pulls the journal has loaded.
DELETE FROM journal_inbound
WHERE received_at_us < %s
  AND seq <= (SELECT MIN(seq) FROM journal_pull_marks WHERE table_name = 'inbound');

-- name: prune_dlr
DELETE FROM journal_dlr
WHERE received_at_us < %s
  AND seq <= (SELECT MIN(seq) FROM journal_pull_marks WHERE table_name = 'dlr');

-- name: prune_dead_letters
-- Only dead letters that a replay journaled already.
DELETE FROM journal_dead_letters WHERE received_at_us < %s AND replayed_at_us IS NOT NULL;

-- name: check_writable
SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on';

-- name: migrate_find_inbound
-- `sdsync state migrate`: the target's rows with a key or a sequence number of a batch being copied.
SELECT seq, message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us, raw_values
FROM journal_inbound WHERE message_id = ANY(%s) OR seq = ANY(%s);

-- name: migrate_insert_inbound
-- Rows copied with their sequence numbers, so that pull marks and pipelines' cursors stay right.
INSERT INTO journal_inbound
    (seq, message_id, sender, recipient, content, protocol, sent_at_us, attachments, received_at_us, raw_values)
SELECT * FROM unnest(
    %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[],
    %s::bigint[], %s::text[]
);

-- name: migrate_find_dlr
SELECT seq, dlr_key, message_id, recipient_id, address, status, status_time_us, error_code, query, received_at_us
FROM journal_dlr WHERE dlr_key = ANY(%s) OR seq = ANY(%s);

-- name: migrate_insert_dlr
INSERT INTO journal_dlr
    (seq, dlr_key, message_id, recipient_id, address, status, status_time_us, error_code, query, received_at_us)
SELECT * FROM unnest(
    %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[],
    %s::text[], %s::bigint[]
);

-- name: migrate_find_dead_letters
SELECT id, kind, reason, status_code, body, body_size, received_at_us, replayed_at_us, replay_error
FROM journal_dead_letters WHERE id = ANY(%s);

-- name: migrate_insert_dead_letter
INSERT INTO journal_dead_letters
    (id, kind, reason, status_code, body, body_size, received_at_us, replayed_at_us, replay_error)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s);

-- name: migrate_find_discarded_letter
SELECT count(*) FROM journal_discarded_letters WHERE letter_id = %s AND discarded_at_us = %s;

-- name: migrate_insert_discarded_letter
INSERT INTO journal_discarded_letters
    (letter_id, kind, reason, status_code, body, body_size, received_at_us, replay_error, discarded_at_us)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s);

-- name: migrate_advance_sequences
-- After rows were copied with their own numbers: new rows of each table (the links' too) continue above the
-- highest one (never lower). The table and column names are the constants below, quoted by format's %I.
DO $$
DECLARE
    numbered RECORD;
BEGIN
    FOR numbered IN SELECT * FROM (VALUES ('journal_inbound', 'seq'), ('journal_dlr', 'seq'), ('journal_dead_letters', 'id'),
                                          ('journal_links', 'seq'), ('journal_link_clicks', 'seq')) AS t (tab, col) LOOP
        EXECUTE format(
            'SELECT setval(pg_get_serial_sequence(%1$L, %2$L), MAX(%2$I)) FROM %1$I HAVING MAX(%2$I) > '
            '(SELECT COALESCE(MAX(last_value), 0) FROM pg_sequences '
            'WHERE schemaname || ''.'' || sequencename = pg_get_serial_sequence(%1$L, %2$L))',
            numbered.tab, numbered.col);
    END LOOP;
END $$;

-- name: has_inbound
-- Whether the journal's inbound table exists in the search path (a reader never creates it).
SELECT to_regclass('journal_inbound') IS NOT NULL;

-- name: opt_out_senders
-- Senders of a stop reply, with the time of their latest one. A stop reply is an inbound message whose
-- content, without the characters of the first parameter around it and upper-cased, is one of the stop
-- keywords (the second parameter, an array of upper-case words); the same definition as
-- campaign_opt_outs.sql on the pulled dataset.
SELECT sender, max(received_at_us)
FROM journal_inbound
WHERE sender IS NOT NULL
  AND upper(trim(content, %s)) = ANY(%s::text[])
GROUP BY sender
ORDER BY sender;
