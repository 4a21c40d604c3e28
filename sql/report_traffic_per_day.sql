-- Message traffic per day (UTC), direction, protocol and service; the newest day first.
-- Inbound: one row per received message (src_inbound_messages); its service is the number it was sent to.
-- Outbound: one row per campaign recipient (src_sent_messages); parts = SMS parts billed.
WITH traffic AS (
    SELECT
        CAST(coalesce("timestamp", received_at) AT TIME ZONE 'UTC' AS DATE) AS day,
        'inbound' AS direction,
        protocol,
        recipient AS service,
        1 AS parts
    FROM src_inbound_messages
    UNION ALL
    SELECT
        CAST(sent_at AT TIME ZONE 'UTC' AS DATE) AS day,
        'outbound' AS direction,
        protocol,
        service_id AS service,
        coalesce(parts, 1) AS parts
    FROM src_sent_messages
)
SELECT
    day,
    direction,
    coalesce(protocol, '?') AS protocol,
    coalesce(service, '?') AS service,
    count(*) AS messages,
    CAST(sum(parts) AS BIGINT) AS parts
FROM traffic
WHERE day IS NOT NULL
GROUP BY day, direction, coalesce(protocol, '?'), coalesce(service, '?')
ORDER BY day DESC, direction, protocol, service
