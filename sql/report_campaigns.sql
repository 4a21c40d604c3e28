-- What names each campaign for a person: its first send, channel and the start of its message or its
-- WhatsApp template name (from the ledger's campaigns; a campaign pulled without them keeps its id only).
WITH sent AS (
    SELECT campaign_id, min(sent_at) AS first_sent_at, min(protocol) AS protocol
    FROM src_sent_messages
    GROUP BY campaign_id
)
SELECT
    sent.campaign_id,
    sent.first_sent_at,
    coalesce(campaign.protocol, sent.protocol) AS protocol,
    campaign.content_start,
    campaign.template_name
FROM sent
LEFT JOIN src_campaigns AS campaign ON campaign.campaign_id = sent.campaign_id
ORDER BY sent.campaign_id
