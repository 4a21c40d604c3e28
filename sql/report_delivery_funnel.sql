-- Delivery funnel per campaign: every recipient of sent_messages, by the latest delivery report for
-- its (message id, recipient id). Delivered; failed = Failed, Expired, Rejected, Undeliverable;
-- pending = no report yet or only an intermediate status (Sent, Scheduled, ...). Newest campaign first.
-- latest_report: the shared relation of sql/report_relations.sql.
WITH outcome AS (
    SELECT
        sent.campaign_id,
        sent.sent_at,
        CASE
            WHEN report.status = 'delivered' THEN 'delivered'
            WHEN report.status IN ('failed', 'expired', 'rejected', 'undeliverable', 'undelivered') THEN 'failed'
            ELSE 'pending'
        END AS outcome
    FROM src_sent_messages AS sent
    LEFT JOIN latest_report AS report
        ON report.message_id = sent.message_id AND report.recipient_id = sent.recipient_id
)
SELECT
    campaign_id,
    count(*) AS sent,
    count(*) FILTER (WHERE outcome = 'delivered') AS delivered,
    count(*) FILTER (WHERE outcome = 'failed') AS failed,
    count(*) FILTER (WHERE outcome = 'pending') AS pending,
    round(CAST(100.0 * count(*) FILTER (WHERE outcome = 'delivered') / count(*) AS DECIMAL(18, 6)), 1) AS delivered_pct
FROM outcome
GROUP BY campaign_id
ORDER BY min(sent_at) DESC NULLS LAST, campaign_id
