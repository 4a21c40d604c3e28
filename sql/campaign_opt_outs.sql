-- Opted-out numbers: senders of an inbound message that is a stop keyword (case and surrounding
-- spaces/punctuation ignored), from the pulled dataset (DuckDB, PostgreSQL); {schema} is the quoted
-- dataset schema found by campaign_opt_outs_schema.sql.
-- Parameter :keywords: the upper-case stop keywords (an expanding list).
SELECT DISTINCT sender
FROM {schema}.inbound_messages
WHERE sender IS NOT NULL
  AND upper(trim(BOTH ' .!?' || chr(9) || chr(10) || chr(13) FROM content)) IN :keywords
