-- Opted-out numbers: senders of a stop reply in the pulled dataset (DuckDB, PostgreSQL); {schema} is the
-- quoted dataset schema found by campaign_opt_outs_schema.sql. A stop reply is an inbound message whose
-- content, without the characters of :trim around it and upper-cased, is a stop keyword: the same
-- definition as the journal's opt_out_senders (sql/journal_*.sql).
-- Parameters: :trim (journal.STOP_REPLY_TRIM), :keywords (the upper-case stop keywords, an expanding list).
SELECT DISTINCT sender
FROM {schema}.inbound_messages
WHERE sender IS NOT NULL
  AND upper(trim(content, :trim)) IN :keywords
