-- The campaign ledger's sent messages after a rowid (the pull's cursor), in rowid order,
-- with the protocol and service of their campaign and the SendDateTime their batch was scheduled for.
SELECT
    s.rowid AS ledger_rowid, s.campaign_id, s.batch_no, s.request_id, s.message_id, s.recipient_id,
    s.address, s.parts, s.sent_at,
    CASE c.kind WHEN 'whatsapp' THEN 'WhatsApp' ELSE 'SMS' END AS protocol,
    c.service_id,
    b.send_date_time AS scheduled_for
FROM sent_messages AS s
LEFT JOIN campaigns AS c ON c.campaign_id = s.campaign_id
LEFT JOIN campaign_batches AS b ON b.campaign_id = s.campaign_id AND b.batch_no = s.batch_no
WHERE s.rowid > ?
ORDER BY s.rowid
LIMIT ?
