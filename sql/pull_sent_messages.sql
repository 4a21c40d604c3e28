-- The campaign ledger's sent messages after a rowid (the pull's cursor), in rowid order.
SELECT rowid AS ledger_rowid, campaign_id, batch_no, request_id, message_id, recipient_id, address, parts, sent_at
FROM sent_messages
WHERE rowid > ?
ORDER BY rowid
LIMIT ?
