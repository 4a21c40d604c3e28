-- Opted-out numbers: senders of an inbound message that is a stop keyword (case and surrounding
-- spaces/punctuation ignored), from the pulled dataset attached read-only as catalog `pulled`;
-- {schema} is the quoted dataset schema found by campaign_opt_outs_schema.sql.
-- Parameter $keywords: the upper-case stop keywords.
SELECT DISTINCT sender
FROM pulled.{schema}.inbound_messages
WHERE sender IS NOT NULL
  AND upper(trim(content, ' .!?' || chr(9) || chr(10) || chr(13))) IN (SELECT unnest($keywords::VARCHAR[]))
