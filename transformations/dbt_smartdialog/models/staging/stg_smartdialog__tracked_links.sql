-- One row per tracked link a campaign recorded (one per recipient and target): the recipients with a link.
with source as (
    {{ smartdialog_source('tracked_links', {
        'code': dbt.type_string(), 'campaign_id': dbt.type_string(), 'variant': dbt.type_string(),
        'recipient': dbt.type_string(), 'target': dbt.type_string(), 'created_at': dbt.type_timestamp()}) }}
)
select
    code,
    campaign_id,
    coalesce(variant, '') as variant,
    recipient as address,
    target,
    created_at
from source
