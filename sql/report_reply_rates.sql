-- Reply and opt-out rates per campaign. A reply: an inbound message from a recipient's address at or
-- after the moment it was sent to (so a reply after two campaigns counts for both). An opt-out: a
-- reply that is a stop keyword, compared upper-case with surrounding spaces and . ! ? trimmed (as
-- the campaign suppression does). Newest campaign first. stop_keywords: the upper-case stop keywords.
WITH replies AS (
    SELECT
        sent.campaign_id,
        sent.address,
        upper(trim(inbound.content, ' .!?' || chr(9) || chr(10) || chr(13))) IN (SELECT keyword FROM stop_keywords) AS is_stop
    FROM src_sent_messages AS sent
    JOIN src_inbound_messages AS inbound
        ON inbound.sender = sent.address
       AND coalesce(inbound."timestamp", inbound.received_at) >= sent.sent_at
),
per_recipient AS (
    SELECT campaign_id, address, bool_or(is_stop) AS opted_out
    FROM replies
    GROUP BY campaign_id, address
),
recipients AS (
    SELECT campaign_id, count(DISTINCT address) AS recipients, min(sent_at) AS first_sent_at
    FROM src_sent_messages
    GROUP BY campaign_id
)
SELECT
    recipients.campaign_id,
    recipients.recipients,
    count(per_recipient.address) AS replied,
    count(per_recipient.address) FILTER (WHERE per_recipient.opted_out) AS opted_out,
    round(CAST(100.0 * count(per_recipient.address) / recipients.recipients AS DECIMAL(18, 6)), 1) AS reply_rate_pct,
    round(CAST(100.0 * count(per_recipient.address) FILTER (WHERE per_recipient.opted_out) / recipients.recipients AS DECIMAL(18, 6)), 1)
        AS opt_out_rate_pct
FROM recipients
LEFT JOIN per_recipient USING (campaign_id)
GROUP BY recipients.campaign_id, recipients.recipients, recipients.first_sent_at
ORDER BY recipients.first_sent_at DESC NULLS LAST, recipients.campaign_id
