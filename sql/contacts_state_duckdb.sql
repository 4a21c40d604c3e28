-- The contact-sync state in a DuckDB file (destinations/contacts/state.py, DuckContactState). Every statement
-- here has a twin of the same name in contacts_state_postgres.sql (the shared state). Positional parameters (?).
-- The statements under "computed on the run's DuckDB" read the temp tables of the plan (contact_candidates,
-- contact_plan) and serve both engines: the DuckDB file inserts their rows itself, PostgreSQL gets them by COPY.

-- name: schema
-- One file per state database; many groups may share it.
-- What was last applied successfully, per contact: the hash of the payload that got a 2xx.
-- A row means "this contact exists in the group and this tool manages it"; hash NULL = content unknown.
CREATE TABLE IF NOT EXISTS contact_state (
    customer VARCHAR NOT NULL,
    group_service VARCHAR NOT NULL,
    phone VARCHAR NOT NULL,
    hash VARCHAR,
    raw_hash UBIGINT,                   -- hash of the CRM row it came from (the validation fast path)
    source_key VARCHAR,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (customer, group_service, phone)
);

-- Cache of phone normalisation: (raw text, region) -> E.164 or the reason it is invalid.
CREATE TABLE IF NOT EXISTS phone_cache (
    phone_raw VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    e164 VARCHAR,
    error VARCHAR,
    PRIMARY KEY (phone_raw, region)
);

-- Payloads the service refused with 400: not sent again until the row changes.
CREATE TABLE IF NOT EXISTS server_rejections (
    customer VARCHAR NOT NULL,
    group_service VARCHAR NOT NULL,
    phone VARCHAR NOT NULL,
    hash VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (customer, group_service, phone)
);

CREATE SEQUENCE IF NOT EXISTS sync_run_ids;

-- One row per `contacts sync` run (dry runs included).
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id BIGINT PRIMARY KEY,
    customer VARCHAR NOT NULL,
    group_service VARCHAR NOT NULL,
    mode VARCHAR NOT NULL,
    dry_run BOOLEAN NOT NULL,
    status VARCHAR NOT NULL,            -- running | completed | partial | failed | dry-run
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    duration_s DOUBLE,
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
    waited_s DOUBLE,
    error VARCHAR
);

-- The operation journal: the plan, written before any call, then each op's progress and result.
-- status: planned -> inflight -> done | rejected | interrupted; superseded when a later run re-plans.
CREATE TABLE IF NOT EXISTS contact_ops (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    customer VARCHAR NOT NULL,
    group_service VARCHAR NOT NULL,
    op VARCHAR NOT NULL,                -- create | update | delete
    phone VARCHAR NOT NULL,
    source_key VARCHAR,
    payload JSON,
    hash VARCHAR,
    raw_hash UBIGINT,
    status VARCHAR NOT NULL,
    result VARCHAR,                     -- what happened (created, updated, existed->updated, ...)
    error VARCHAR,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, seq)
);

-- Operations a dry run would perform.
CREATE TABLE IF NOT EXISTS planned_ops (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    customer VARCHAR NOT NULL,
    group_service VARCHAR NOT NULL,
    op VARCHAR NOT NULL,
    phone VARCHAR NOT NULL,
    source_key VARCHAR,
    payload JSON,
    hash VARCHAR,
    PRIMARY KEY (run_id, seq)
);

-- CRM rows that were not sent, with their source key and the reason.
CREATE TABLE IF NOT EXISTS rejected_rows (
    run_id BIGINT NOT NULL,
    customer VARCHAR NOT NULL,
    group_service VARCHAR NOT NULL,
    source_key VARCHAR,
    phone VARCHAR,
    reason VARCHAR NOT NULL
);

-- Fields left out of the payload of a CRM row that was sent (a value that could not be normalised into
-- what the definition asks), with the row's source key and the reason.
CREATE TABLE IF NOT EXISTS field_warnings (
    run_id BIGINT NOT NULL,
    customer VARCHAR NOT NULL,
    group_service VARCHAR NOT NULL,
    source_key VARCHAR,
    phone VARCHAR,
    field VARCHAR NOT NULL,
    value VARCHAR,
    reason VARCHAR NOT NULL
);

-- name: start_run
INSERT INTO sync_runs (run_id, customer, group_service, mode, dry_run, status)
VALUES (nextval('sync_run_ids'), ?, ?, ?, ?, 'running') RETURNING run_id

-- name: run_record
SELECT * FROM sync_runs WHERE run_id = ?

-- name: supersede_open_ops
-- Before a new plan is journaled: what earlier runs planned and never started is replaced by it.
UPDATE contact_ops SET status = 'superseded', finished_at = now()
WHERE customer = ? AND group_service = ? AND status IN ('planned', 'interrupted')

-- name: planned_page
SELECT run_id, seq, op, phone, source_key, CAST(payload AS VARCHAR), hash, raw_hash FROM contact_ops
WHERE run_id = ? AND seq > ? AND status = 'planned' ORDER BY seq LIMIT ?

-- name: inflight_ops
SELECT run_id, seq, op, phone, source_key, CAST(payload AS VARCHAR), hash, raw_hash FROM contact_ops
WHERE customer = ? AND group_service = ? AND status = 'inflight' ORDER BY run_id, seq

-- name: mark_inflight
UPDATE contact_ops SET status = 'inflight', error = NULL, started_at = now()
WHERE run_id = ? AND seq IN (SELECT unnest(?::BIGINT[]))

-- name: mark_planned
UPDATE contact_ops SET status = 'planned', started_at = NULL
WHERE run_id = ? AND seq IN (SELECT unnest(?::BIGINT[]))

-- name: record_outcomes
-- Parameters: seqs, statuses, results, errors (arrays of one length), run_id.
UPDATE contact_ops SET status = o.status, result = coalesce(o.result, contact_ops.result), error = o.error,
    finished_at = now()
FROM (SELECT unnest(?::BIGINT[]) AS seq, unnest(?::VARCHAR[]) AS status, unnest(?::VARCHAR[]) AS result,
             unnest(?::VARCHAR[]) AS error) AS o
WHERE contact_ops.run_id = ? AND contact_ops.seq = o.seq

-- name: set_status
UPDATE contact_ops SET status = ?, result = coalesce(?, result), finished_at = now() WHERE run_id = ? AND seq = ?

-- name: remember
-- Parameters: customer, group_service, phones, hashes, raw hashes, source keys (arrays of one length).
INSERT OR REPLACE INTO contact_state (customer, group_service, phone, hash, raw_hash, source_key, updated_at)
SELECT ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::UBIGINT[]), unnest(?::VARCHAR[]), now()

-- name: forget
DELETE FROM contact_state WHERE customer = ? AND group_service = ? AND phone IN (SELECT unnest(?::VARCHAR[]))

-- name: clear_rejections
DELETE FROM server_rejections WHERE customer = ? AND group_service = ? AND phone IN (SELECT unnest(?::VARCHAR[]))

-- name: add_rejections
-- Parameters: customer, group_service, phones, hashes, reasons.
INSERT OR REPLACE INTO server_rejections (customer, group_service, phone, hash, reason)
SELECT ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])

-- name: add_rejected_rows
-- Rows of a run found unsendable while applying (update-only: no_contact). Parameters: run_id, customer,
-- group_service, source keys, phones (arrays of one length), reason.
INSERT INTO rejected_rows (run_id, customer, group_service, source_key, phone, reason)
SELECT ?, ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?

-- name: clear_group_state
DELETE FROM contact_state WHERE customer = ? AND group_service = ?

-- name: clear_group_rejections
DELETE FROM server_rejections WHERE customer = ? AND group_service = ?

-- `sdsync contacts forget`: with clear_group_state and clear_group_rejections, every row of a group.
-- name: forget_group_contact_ops
DELETE FROM contact_ops WHERE customer = ? AND group_service = ?

-- name: forget_group_planned_ops
DELETE FROM planned_ops WHERE customer = ? AND group_service = ?

-- name: forget_group_rejected_rows
DELETE FROM rejected_rows WHERE customer = ? AND group_service = ?

-- name: forget_group_field_warnings
DELETE FROM field_warnings WHERE customer = ? AND group_service = ?

-- name: forget_group_sync_runs
DELETE FROM sync_runs WHERE customer = ? AND group_service = ?

-- name: supersede_group_ops
UPDATE contact_ops SET status = 'superseded', finished_at = now()
WHERE customer = ? AND group_service = ? AND status IN ('planned', 'inflight', 'interrupted')

-- name: rejected_sample
SELECT source_key, phone, reason FROM rejected_rows WHERE run_id = ? LIMIT ?

-- name: warnings_sample
SELECT source_key, field, value, reason FROM field_warnings WHERE run_id = ? LIMIT ?

-- name: ops_left
SELECT count(*) FROM contact_ops WHERE run_id = ? AND status = 'planned'

-- name: count_rejected_rows
SELECT count(*) FROM rejected_rows WHERE run_id = ?

-- name: count_field_warnings
SELECT count(*) FROM field_warnings WHERE run_id = ?

-- name: holds_group
-- Whether the state holds a contact of the group (then its group service has taken contacts: no need to check it).
SELECT EXISTS (SELECT 1 FROM contact_state WHERE customer = ? AND group_service = ?)

-- name: insert_phones
-- The phones normalised this run (registered Arrow table new_phones).
INSERT INTO phone_cache SELECT phone_raw, region, e164, error FROM new_phones

-- Computed on the run's DuckDB (both engines) ---------------------------------------------------------

-- name: rows_rejected
-- This run's rejected candidates, as rejected_rows rows. Parameters: run_id, customer, group_service.
SELECT CAST(? AS BIGINT) AS run_id, CAST(? AS VARCHAR) AS customer, CAST(? AS VARCHAR) AS group_service,
       source_key, phone, reject_reason AS reason
FROM contact_candidates WHERE reject_reason IS NOT NULL ORDER BY row_no

-- name: rows_no_contact
-- The rows update-only sends nothing for because an earlier run found no contact for the same payload, as
-- rejected_rows rows (reason no_contact). Parameters: run_id, customer, group_service, customer, group_service.
SELECT CAST(? AS BIGINT) AS run_id, CAST(? AS VARCHAR) AS customer, CAST(? AS VARCHAR) AS group_service,
       v.source_key, v.phone, 'no_contact' AS reason
FROM contact_candidates v
JOIN server_rejections r ON r.customer = ? AND r.group_service = ? AND r.phone = v.phone AND r.hash = v.hash
    AND r.reason = 'no_contact'
WHERE v.reject_reason IS NULL ORDER BY v.row_no

-- name: rows_field_warnings
-- The field warnings of this run's rows to send, as field_warnings rows. Parameters: run_id, customer, group_service.
SELECT CAST(? AS BIGINT) AS run_id, CAST(? AS VARCHAR) AS customer, CAST(? AS VARCHAR) AS group_service,
       source_key, phone, w.field, w.value, w.reason
FROM (SELECT row_no, source_key, phone, unnest(warnings) AS w FROM contact_candidates WHERE reject_reason IS NULL)
ORDER BY row_no

-- name: rows_planned
-- The plan, as planned_ops rows (a dry run). Parameters: run_id, customer, group_service.
SELECT CAST(? AS BIGINT) AS run_id, seq, CAST(? AS VARCHAR) AS customer, CAST(? AS VARCHAR) AS group_service, op,
       phone, source_key, CAST(payload AS VARCHAR) AS payload, hash
FROM contact_plan

-- name: rows_journal
-- The plan, as contact_ops rows (raw_hash as stored: UBIGINT here). Parameters: run_id, customer, group_service.
SELECT CAST(? AS BIGINT) AS run_id, seq, CAST(? AS VARCHAR) AS customer, CAST(? AS VARCHAR) AS group_service, op,
       phone, source_key, CAST(payload AS VARCHAR) AS payload, hash, raw_hash, 'planned' AS status
FROM contact_plan

-- name: fresh_phone_pairs
-- The distinct (raw phone, region) pairs of the rows to validate (crm_fresh): the phone cache they need.
SELECT DISTINCT phone_text AS phone_raw, region FROM crm_fresh WHERE phone_text IS NOT NULL

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
-- CRM rows the last run of each group left out (written before its first call, so an interrupted run has them).
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
-- The phones `sdsync contacts sync` manages: the group contacts the pull reads back.
SELECT customer, group_service, phone FROM contact_state ORDER BY customer, group_service, phone

-- The PostgreSQL engine's in-memory DuckDB (PostgresContactState) -------------------------------------

-- name: memory_schema
-- The tables the plan reads, in memory: filled with one group's rows loaded from PostgreSQL.
CREATE TABLE contact_state (customer VARCHAR, group_service VARCHAR, phone VARCHAR, hash VARCHAR, raw_hash UBIGINT,
                            source_key VARCHAR);
CREATE TABLE phone_cache (phone_raw VARCHAR, region VARCHAR, e164 VARCHAR, error VARCHAR);
CREATE TABLE server_rejections (customer VARCHAR, group_service VARCHAR, phone VARCHAR, hash VARCHAR, reason VARCHAR);

-- name: memory_state
-- One group's state from PostgreSQL, first as its raw hashes only (registered Arrow table loaded_state, already
-- shifted back to UBIGINT): enough to match the CRM rows (contacts_rows.sql). memory_contacts then fills in the
-- phone and hash of the rows the rest of the diff reads. Parameters: customer, group_service.
CREATE OR REPLACE TABLE contact_state AS
SELECT CAST(? AS VARCHAR) AS customer, CAST(? AS VARCHAR) AS group_service, phone, hash, raw_hash,
       CAST(NULL AS VARCHAR) AS source_key
FROM loaded_state

-- name: memory_wanted_raw_hashes
-- The raw hashes (shifted for PostgreSQL) of the contacts no applied CRM row matched: changed or gone.
SELECT CAST(CAST(s.raw_hash AS HUGEINT) - 9223372036854775808 AS BIGINT) AS raw_hash
FROM contact_state s
WHERE s.phone IS NULL AND NOT EXISTS (SELECT 1 FROM crm_rows r WHERE r.applied AND r.raw_hash = s.raw_hash)

-- name: memory_copied_raw_hashes
-- The raw hashes (shifted) that several applied CRM rows share (a copied row: they share its contact's phone).
SELECT CAST(CAST(raw_hash AS HUGEINT) - 9223372036854775808 AS BIGINT) AS raw_hash
FROM crm_rows WHERE applied GROUP BY raw_hash HAVING count(*) > 1

-- name: memory_applied_rows
SELECT count(*) FROM crm_rows WHERE applied

-- name: memory_wanted_phones
-- The phones of the rows to validate (fresh_phones): their contacts are read in full.
SELECT DISTINCT e164 FROM fresh_phones WHERE e164 IS NOT NULL

-- name: memory_contacts_drop
-- The contacts read in full (registered Arrow table loaded_contacts) replace their raw-hash-only rows.
DELETE FROM contact_state WHERE raw_hash IN
    (SELECT CAST(CAST(raw_hash AS HUGEINT) + 9223372036854775808 AS UBIGINT) FROM loaded_contacts)

-- name: memory_contacts_add
-- Parameters: customer, group_service.
INSERT INTO contact_state
SELECT ?, ?, phone, hash, CAST(CAST(raw_hash AS HUGEINT) + 9223372036854775808 AS UBIGINT), NULL FROM loaded_contacts

-- name: memory_rejections
-- Parameters: customer, group_service (registered Arrow table loaded_rejections).
INSERT INTO server_rejections SELECT CAST(? AS VARCHAR), CAST(? AS VARCHAR), phone, hash, reason FROM loaded_rejections

-- name: memory_phones
INSERT INTO phone_cache SELECT phone_raw, region, e164, error FROM loaded_phones

-- name: memory_forget
DELETE FROM contact_state WHERE customer = ? AND group_service = ? AND phone IN (SELECT unnest(?::VARCHAR[]))

-- name: memory_remember
INSERT INTO contact_state SELECT ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::UBIGINT[]), unnest(?::VARCHAR[])

-- name: rows_journal_shifted
-- The plan as contact_ops rows for PostgreSQL (raw_hash shifted to BIGINT). Parameters: run_id, customer, group_service.
SELECT CAST(? AS BIGINT) AS run_id, seq, CAST(? AS VARCHAR) AS customer, CAST(? AS VARCHAR) AS group_service, op,
       phone, source_key, CAST(payload AS VARCHAR) AS payload, hash,
       CAST(CAST(raw_hash AS HUGEINT) - 9223372036854775808 AS BIGINT) AS raw_hash, 'planned' AS status
FROM contact_plan
