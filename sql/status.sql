-- Read-only queries of `sdsync status` over the local stores. Sections start with "-- name: <statement>".
-- Parameters are :named (sqlite3 and SQLAlchemy) or $named (DuckDB). A table that may be missing is
-- looked up in the store's table list first: a missing table means "none", never an error.

-- name: sqlite_tables
SELECT name FROM sqlite_master WHERE type = 'table';

-- name: postgres_tables
SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema();

-- name: duckdb_tables
SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema();

-- name: limiter_window_sqlite
-- Slots still inside the window (older ones are deleted lazily by the next caller).
SELECT connection, count(*), min(at) FROM api_calls WHERE at > :since GROUP BY connection ORDER BY connection;

-- name: postgres_now
SELECT extract(epoch from clock_timestamp());

-- name: limiter_window_postgres
SELECT connection, count(*), min(at) FROM sdsync_api_calls WHERE at > :since GROUP BY connection ORDER BY connection;

-- name: journal_inbound_after
SELECT count(*), min(received_at_us) FROM journal_inbound WHERE seq > :after;

-- name: journal_dlr_after
SELECT count(*), min(received_at_us) FROM journal_dlr WHERE seq > :after;

-- name: journal_dead_letters_waiting
SELECT count(*) FROM journal_dead_letters WHERE replayed_at_us IS NULL;

-- name: journal_pull_marks
SELECT pipeline, table_name, seq, updated_at_us FROM journal_pull_marks ORDER BY pipeline, table_name;

-- name: journal_registrations
SELECT customer, service, endpoint_url_masked, pipeline_id, action_id, registered_at_us
FROM journal_registrations ORDER BY customer, service;

-- name: journal_size_postgres
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname LIKE 'journal\_%';

-- name: campaigns
SELECT campaign_id, kind, customer_id, service_id, created_at FROM campaigns ORDER BY created_at, campaign_id;

-- name: campaign_batches
SELECT campaign_id, status, count(*), coalesce(sum(recipient_count), 0),
       min(CASE WHEN status = 'in_flight' THEN coalesce(first_attempt_at, updated_at) END)
FROM campaign_batches GROUP BY campaign_id, status;

-- name: campaign_scheduled
-- Sent batches that SmartDialog delivers later: SendDateTime ahead, the batch's own (per-recipient timing) or the
-- campaign's (--at). ISO 8601 UTC strings to the second compare as times.
SELECT campaign_id, count(*), coalesce(sum(recipient_count), 0), min(send_at)
FROM (
    SELECT b.campaign_id, b.recipient_count,
           coalesce(b.send_date_time, json_extract(c.message, '$.send_date_time')) AS send_at
    FROM campaign_batches b JOIN campaigns c ON c.campaign_id = b.campaign_id
    WHERE b.status = 'sent'
)
WHERE send_at > :now GROUP BY campaign_id;
