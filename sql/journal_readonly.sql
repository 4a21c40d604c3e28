-- Read-only queries of the journal for `sdsync status` (owned by smartdialog_sync/journal.py), on both
-- engines: parameters are :named (sqlite3 and SQLAlchemy). Callers check the table list first.

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
