-- The campaign ledger's campaigns: what a person recognises a campaign by (channel, the start of its
-- message or its WhatsApp template name, when it was created), for the report and the dbt marts.
SELECT
    campaign_id,
    CASE kind WHEN 'whatsapp' THEN 'WhatsApp' ELSE 'SMS' END AS protocol,
    customer_id,
    service_id,
    substr(json_extract(message, '$.content'), 1, 200) AS content_start,
    json_extract(message, '$.template_name') AS template_name,
    created_at
FROM campaigns
ORDER BY campaign_id
