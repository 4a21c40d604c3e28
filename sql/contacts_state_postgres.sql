-- The contact-sync state in the shared PostgreSQL (destinations/contacts/state.py, PostgresContactState). Every
-- statement here has a twin of the same name in contacts_state_duckdb.sql. Positional parameters (%s).
-- raw_hash (DuckDB's UBIGINT hash of a CRM row) is kept as a BIGINT shifted by -2^63 (order and identity kept).
-- The plan itself is computed in an in-memory DuckDB: the group's rows are loaded from here (load_state,
-- load_rejections, phone_cache_of), the durable changes written back (bulk rows by COPY).

-- name: schema
CREATE TABLE IF NOT EXISTS contact_state (
    customer TEXT NOT NULL,
    group_service TEXT NOT NULL,
    phone TEXT NOT NULL,
    hash TEXT,
    raw_hash BIGINT,
    source_key TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (customer, group_service, phone)
);
-- The nightly diff reads every raw hash of a group (an index-only scan) and only the few rows it needs in full.
CREATE INDEX IF NOT EXISTS contact_state_raw_hash ON contact_state (customer, group_service, raw_hash);
CREATE TABLE IF NOT EXISTS phone_cache (
    phone_raw TEXT NOT NULL,
    region TEXT NOT NULL,
    e164 TEXT,
    error TEXT,
    PRIMARY KEY (phone_raw, region)
);
CREATE TABLE IF NOT EXISTS server_rejections (
    customer TEXT NOT NULL,
    group_service TEXT NOT NULL,
    phone TEXT NOT NULL,
    hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (customer, group_service, phone)
);
CREATE SEQUENCE IF NOT EXISTS sync_run_ids;
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id BIGINT PRIMARY KEY,
    customer TEXT NOT NULL,
    group_service TEXT NOT NULL,
    mode TEXT NOT NULL,
    dry_run BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    duration_s DOUBLE PRECISION,
    source_rows BIGINT,
    creates BIGINT,
    updates BIGINT,
    deletes BIGINT,
    unchanged BIGINT,
    rejected BIGINT,
    reconciled BIGINT,
    applied BIGINT,
    failed BIGINT,
    calls BIGINT,
    retries BIGINT,
    throttled BIGINT,
    waited_s DOUBLE PRECISION,
    error TEXT
);
CREATE TABLE IF NOT EXISTS contact_ops (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    customer TEXT NOT NULL,
    group_service TEXT NOT NULL,
    op TEXT NOT NULL,
    phone TEXT NOT NULL,
    source_key TEXT,
    payload JSONB,
    hash TEXT,
    raw_hash BIGINT,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS contact_ops_open ON contact_ops (customer, group_service, status)
    WHERE status IN ('planned', 'inflight', 'interrupted');
CREATE TABLE IF NOT EXISTS planned_ops (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    customer TEXT NOT NULL,
    group_service TEXT NOT NULL,
    op TEXT NOT NULL,
    phone TEXT NOT NULL,
    source_key TEXT,
    payload JSONB,
    hash TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS rejected_rows (
    run_id BIGINT NOT NULL,
    customer TEXT NOT NULL,
    group_service TEXT NOT NULL,
    source_key TEXT,
    phone TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_rows_run ON rejected_rows (run_id);
CREATE TABLE IF NOT EXISTS field_warnings (
    run_id BIGINT NOT NULL,
    customer TEXT NOT NULL,
    group_service TEXT NOT NULL,
    source_key TEXT,
    phone TEXT,
    field TEXT NOT NULL,
    value TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS field_warnings_run ON field_warnings (run_id);

-- name: start_run
INSERT INTO sync_runs (run_id, customer, group_service, mode, dry_run, status)
VALUES (nextval('sync_run_ids'), %s, %s, %s, %s, 'running') RETURNING run_id

-- name: run_record
SELECT * FROM sync_runs WHERE run_id = %s

-- name: supersede_open_ops
UPDATE contact_ops SET status = 'superseded', finished_at = now()
WHERE customer = %s AND group_service = %s AND status IN ('planned', 'interrupted')

-- name: planned_page
SELECT run_id, seq, op, phone, source_key, payload::text, hash, raw_hash FROM contact_ops
WHERE run_id = %s AND seq > %s AND status = 'planned' ORDER BY seq LIMIT %s

-- name: inflight_ops
SELECT run_id, seq, op, phone, source_key, payload::text, hash, raw_hash FROM contact_ops
WHERE customer = %s AND group_service = %s AND status = 'inflight' ORDER BY run_id, seq

-- name: mark_inflight
UPDATE contact_ops SET status = 'inflight', error = NULL, started_at = now()
WHERE run_id = %s AND seq = ANY(%s::bigint[])

-- name: mark_planned
UPDATE contact_ops SET status = 'planned', started_at = NULL
WHERE run_id = %s AND seq = ANY(%s::bigint[])

-- name: record_outcomes
UPDATE contact_ops SET status = o.status, result = coalesce(o.result, contact_ops.result), error = o.error,
    finished_at = now()
FROM (SELECT unnest(%s::bigint[]) AS seq, unnest(%s::text[]) AS status, unnest(%s::text[]) AS result,
             unnest(%s::text[]) AS error) AS o
WHERE contact_ops.run_id = %s AND contact_ops.seq = o.seq

-- name: set_status
UPDATE contact_ops SET status = %s, result = coalesce(%s, result), finished_at = now() WHERE run_id = %s AND seq = %s

-- name: remember
INSERT INTO contact_state (customer, group_service, phone, hash, raw_hash, source_key, updated_at)
SELECT %s, %s, unnest(%s::text[]), unnest(%s::text[]), unnest(%s::bigint[]), unnest(%s::text[]), now()
ON CONFLICT (customer, group_service, phone) DO UPDATE SET hash = excluded.hash, raw_hash = excluded.raw_hash,
    source_key = excluded.source_key, updated_at = excluded.updated_at

-- name: forget
DELETE FROM contact_state WHERE customer = %s AND group_service = %s AND phone = ANY(%s::text[])

-- name: clear_rejections
DELETE FROM server_rejections WHERE customer = %s AND group_service = %s AND phone = ANY(%s::text[])

-- name: add_rejections
INSERT INTO server_rejections (customer, group_service, phone, hash, reason)
SELECT %s, %s, unnest(%s::text[]), unnest(%s::text[]), unnest(%s::text[])
ON CONFLICT (customer, group_service, phone) DO UPDATE SET hash = excluded.hash, reason = excluded.reason,
    rejected_at = now()

-- name: add_rejected_rows
-- Rows of a run found unsendable while applying (update-only: no_contact). Parameters: run_id, customer,
-- group_service, source keys, phones (arrays of one length), reason.
INSERT INTO rejected_rows (run_id, customer, group_service, source_key, phone, reason)
SELECT %s, %s, %s, unnest(%s::text[]), unnest(%s::text[]), %s

-- name: clear_group_state
DELETE FROM contact_state WHERE customer = %s AND group_service = %s

-- name: clear_group_rejections
DELETE FROM server_rejections WHERE customer = %s AND group_service = %s

-- `sdsync contacts forget`: with clear_group_state and clear_group_rejections, every row of a group.
-- name: forget_group_contact_ops
DELETE FROM contact_ops WHERE customer = %s AND group_service = %s

-- name: forget_group_planned_ops
DELETE FROM planned_ops WHERE customer = %s AND group_service = %s

-- name: forget_group_rejected_rows
DELETE FROM rejected_rows WHERE customer = %s AND group_service = %s

-- name: forget_group_field_warnings
DELETE FROM field_warnings WHERE customer = %s AND group_service = %s

-- name: forget_group_sync_runs
DELETE FROM sync_runs WHERE customer = %s AND group_service = %s

-- name: supersede_group_ops
UPDATE contact_ops SET status = 'superseded', finished_at = now()
WHERE customer = %s AND group_service = %s AND status IN ('planned', 'inflight', 'interrupted')

-- name: rejected_sample
SELECT source_key, phone, reason FROM rejected_rows WHERE run_id = %s LIMIT %s

-- name: warnings_sample
SELECT source_key, field, value, reason FROM field_warnings WHERE run_id = %s LIMIT %s

-- name: ops_left
SELECT count(*) FROM contact_ops WHERE run_id = %s AND status = 'planned'

-- name: count_rejected_rows
SELECT count(*) FROM rejected_rows WHERE run_id = %s

-- name: count_field_warnings
SELECT count(*) FROM field_warnings WHERE run_id = %s

-- name: holds_group
-- Whether the state holds a contact of the group (then its group service has taken contacts: no need to check it).
SELECT EXISTS (SELECT 1 FROM contact_state WHERE customer = %s AND group_service = %s)

-- name: load_raw_hashes
-- Every raw hash of the group's contacts in one value (8 bytes each, big-endian): what the diff matches the
-- CRM rows with. Their phones and hashes are read only for the rows the diff needs (load_contacts).
SELECT string_agg(int8send(raw_hash), ''::bytea) FROM contact_state
WHERE customer = %s AND group_service = %s AND raw_hash IS NOT NULL

-- name: load_unknown_raw
-- The group's contacts without a raw hash (settled by reconciliation): always read in full.
SELECT phone, hash, raw_hash FROM contact_state WHERE customer = %s AND group_service = %s AND raw_hash IS NULL

-- name: load_contacts
-- The contacts the diff reads in full: by raw hash (changed, gone or copied rows) or by phone (the phones of the
-- rows to validate). Parameters: customer, group_service, raw hashes, phones.
SELECT phone, hash, raw_hash FROM contact_state
WHERE customer = %s AND group_service = %s AND raw_hash IS NOT NULL
  AND (raw_hash = ANY(%s::bigint[]) OR phone = ANY(%s::text[]))

-- name: load_rejections
SELECT phone, hash, reason FROM server_rejections WHERE customer = %s AND group_service = %s

-- name: phone_pairs_table
CREATE TEMP TABLE IF NOT EXISTS sdsync_phone_pairs (phone_raw TEXT NOT NULL, region TEXT NOT NULL) ON COMMIT DELETE ROWS

-- name: copy_phone_pairs
COPY sdsync_phone_pairs (phone_raw, region) FROM STDIN (FORMAT csv, HEADER true)

-- name: phone_cache_of
-- The cached normalisations of the pairs in sdsync_phone_pairs (filled in the same transaction).
COPY (SELECT p.phone_raw, p.region, p.e164, p.error FROM phone_cache p
      JOIN sdsync_phone_pairs q ON q.phone_raw = p.phone_raw AND q.region = p.region) TO STDOUT (FORMAT csv)

-- name: insert_phones
-- The phones normalised this run (another run may have added the same pairs meanwhile: same values).
INSERT INTO phone_cache (phone_raw, region, e164, error)
SELECT phone_raw, region, e164, error FROM sdsync_new_phones ON CONFLICT DO NOTHING

-- name: new_phones_table
CREATE TEMP TABLE IF NOT EXISTS sdsync_new_phones (phone_raw TEXT, region TEXT, e164 TEXT, error TEXT)
    ON COMMIT DELETE ROWS

-- name: copy_new_phones
COPY sdsync_new_phones (phone_raw, region, e164, error) FROM STDIN (FORMAT csv, HEADER true)

-- name: copy_rejected_rows
COPY rejected_rows (run_id, customer, group_service, source_key, phone, reason) FROM STDIN (FORMAT csv, HEADER true)

-- name: copy_field_warnings
COPY field_warnings (run_id, customer, group_service, source_key, phone, field, value, reason)
FROM STDIN (FORMAT csv, HEADER true)

-- name: copy_planned_ops
COPY planned_ops (run_id, seq, customer, group_service, op, phone, source_key, payload, hash)
FROM STDIN (FORMAT csv, HEADER true)

-- name: copy_journal
COPY contact_ops (run_id, seq, customer, group_service, op, phone, source_key, payload, hash, raw_hash, status)
FROM STDIN (FORMAT csv, HEADER true)

-- Read-only: status and the source ------------------------------------------------------------------

-- name: tables
SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()

-- name: status_last_runs
SELECT run_id, customer, group_service, mode, dry_run, status, started_at, finished_at, source_rows, creates, updates,
       deletes, unchanged, rejected, applied, failed, calls, error
FROM sync_runs
WHERE run_id IN (SELECT max(run_id) FROM sync_runs GROUP BY customer, group_service)

-- name: status_open_ops
SELECT customer, group_service, status, count(*) FROM contact_ops
WHERE status IN ('planned', 'inflight', 'interrupted') GROUP BY customer, group_service, status
ORDER BY customer, group_service, status

-- name: status_server_rejections
SELECT customer, group_service, count(*) FROM server_rejections GROUP BY customer, group_service

-- name: status_rejected_rows
SELECT r.customer, r.group_service, count(*) FROM rejected_rows r
WHERE r.run_id = (SELECT max(s.run_id) FROM sync_runs s WHERE s.customer = r.customer AND s.group_service = r.group_service)
GROUP BY r.customer, r.group_service

-- name: status_field_warnings
-- Field warnings in effect per group: for each synced contact, those of the last real run that validated its
-- CRM row. A run that finds a row exactly as last applied does not validate it again (the fast path) and records
-- no warnings for it, so the group's last run alone would count 0 while the fields are still being left out.
WITH validated AS (
    SELECT w.customer, w.group_service, w.phone, max(w.run_id) AS run_id
    FROM field_warnings w JOIN sync_runs r ON r.run_id = w.run_id AND NOT r.dry_run
    GROUP BY w.customer, w.group_service, w.phone
), changed AS (
    SELECT customer, group_service, phone, max(run_id) AS run_id FROM contact_ops GROUP BY customer, group_service, phone
)
SELECT w.customer, w.group_service, count(*) FROM field_warnings w
JOIN validated v ON v.customer = w.customer AND v.group_service = w.group_service AND v.phone = w.phone
                AND v.run_id = w.run_id
JOIN contact_state s ON s.customer = w.customer AND s.group_service = w.group_service AND s.phone = w.phone
LEFT JOIN changed c ON c.customer = w.customer AND c.group_service = w.group_service AND c.phone = w.phone
WHERE c.run_id IS NULL OR c.run_id <= w.run_id  -- a later change of the contact validated its row again
GROUP BY w.customer, w.group_service

-- name: status_known
SELECT customer, group_service, count(*) FROM contact_state GROUP BY customer, group_service

-- name: managed_phones
SELECT customer, group_service, phone FROM contact_state ORDER BY customer, group_service, phone

-- name: advance_run_ids
-- After copying runs in (sdsync state migrate): new runs get ids after every run there.
SELECT setval('sync_run_ids', greatest((SELECT coalesce(max(run_id), 0) FROM sync_runs),
                                       (SELECT last_value FROM sync_run_ids)))

-- name: analyze_after_copy
-- Fresh statistics after a bulk copy (sdsync state migrate), for the nightly diff's plans.
ANALYZE contact_state, phone_cache, contact_ops
