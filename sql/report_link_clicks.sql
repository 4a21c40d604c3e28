-- Tracked links per campaign and variant (variant '' without variants): the recipients whose message carried
-- a link, the unique clickers among them, the click-through rate (unique clickers / recipients with a link),
-- all clicks, and previews apart (HEAD requests, messaging apps' preview bots, crawlers: never clicks).
WITH links AS (
    SELECT campaign_id, coalesce(variant, '') AS variant, count(DISTINCT recipient) AS recipients_with_link
    FROM src_tracked_links
    GROUP BY campaign_id, coalesce(variant, '')
),
requests AS (
    SELECT
        campaign_id,
        coalesce(variant, '') AS variant,
        count(DISTINCT recipient) FILTER (WHERE kind = 'click') AS unique_clickers,
        count(*) FILTER (WHERE kind = 'click') AS clicks,
        count(*) FILTER (WHERE kind = 'preview') AS previews
    FROM src_link_clicks
    GROUP BY campaign_id, coalesce(variant, '')
)
SELECT
    links.campaign_id,
    links.variant,
    links.recipients_with_link,
    coalesce(requests.unique_clickers, 0) AS unique_clickers,
    round(CAST(100.0 * coalesce(requests.unique_clickers, 0) / links.recipients_with_link AS DECIMAL(18, 6)), 1)
        AS click_through_pct,
    coalesce(requests.clicks, 0) AS clicks,
    coalesce(requests.previews, 0) AS previews
FROM links
LEFT JOIN requests ON requests.campaign_id = links.campaign_id AND requests.variant = links.variant
ORDER BY links.campaign_id, links.variant
