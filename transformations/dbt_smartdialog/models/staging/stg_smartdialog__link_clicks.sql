-- One row per request of a tracked link: kind click or preview (HEAD, preview bots, crawlers), a coarse
-- user-agent class, when, and the link's campaign, variant and recipient.
with source as (
    {{ smartdialog_source('link_clicks', {
        'click_id': dbt.type_string(), 'code': dbt.type_string(), 'campaign_id': dbt.type_string(),
        'variant': dbt.type_string(), 'recipient': dbt.type_string(), 'kind': dbt.type_string(),
        'agent': dbt.type_string(), 'clicked_at': dbt.type_timestamp()}) }}
)
select
    click_id,
    code,
    campaign_id,
    coalesce(variant, '') as variant,
    recipient as address,
    kind,
    agent,
    clicked_at
from source
