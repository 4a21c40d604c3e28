-- Clicks of tracked links (previews left out) per campaign, variant and time after the send to the clicker:
-- within 1 hour, 1-6 hours, 6-24 hours, 1-7 days, later. A click is timed from its recipient's sent_at.
WITH timed AS (
    SELECT
        clicks.campaign_id,
        coalesce(clicks.variant, '') AS variant,
        clicks.recipient,
        epoch(clicks.clicked_at) - epoch(sent.sent_at) AS seconds
    FROM src_link_clicks AS clicks
    JOIN src_sent_messages AS sent ON sent.campaign_id = clicks.campaign_id AND sent.address = clicks.recipient
    WHERE clicks.kind = 'click'
),
bucketed AS (
    SELECT
        campaign_id,
        variant,
        recipient,
        CASE
            WHEN seconds < 3600 THEN 1
            WHEN seconds < 6 * 3600 THEN 2
            WHEN seconds < 24 * 3600 THEN 3
            WHEN seconds < 7 * 86400 THEN 4
            ELSE 5
        END AS bucket
    FROM timed
)
SELECT
    campaign_id,
    variant,
    CASE bucket WHEN 1 THEN 'within 1 h' WHEN 2 THEN '1-6 h' WHEN 3 THEN '6-24 h' WHEN 4 THEN '1-7 days'
        ELSE 'later' END AS after_send,
    count(*) AS clicks,
    count(DISTINCT recipient) AS clickers
FROM bucketed
GROUP BY campaign_id, variant, bucket
ORDER BY campaign_id, variant, bucket
