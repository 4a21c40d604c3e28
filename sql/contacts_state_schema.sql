-- State of the contact reverse sync (DuckDB). One file per state database; many groups may share it.

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
