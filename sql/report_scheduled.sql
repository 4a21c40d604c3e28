-- Scheduled, not yet delivered: recipients of batches sent with a SendDateTime whose latest delivery
-- report is missing or not final, per campaign and scheduled time (UTC), soonest first. `due` says
-- whether the scheduled time is still ahead or has passed without a final report.
-- latest_report: the shared relation of sql/report_relations.sql.
SELECT
    sent.campaign_id,
    strftime(sent.scheduled_for AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') AS scheduled_utc,
    count(*) AS recipients,
    CASE WHEN sent.scheduled_for > now() THEN 'ahead' ELSE 'passed, no final report' END AS due
FROM src_sent_messages AS sent
LEFT JOIN latest_report AS report
    ON report.message_id = sent.message_id AND report.recipient_id = sent.recipient_id
WHERE sent.scheduled_for IS NOT NULL
  AND coalesce(report.status, '') NOT IN ('delivered', 'failed', 'expired', 'rejected', 'undeliverable', 'undelivered')
GROUP BY sent.campaign_id, sent.scheduled_for
ORDER BY sent.scheduled_for, sent.campaign_id
