-- One row per eligible recipient of a campaign with A/B variants or a holdout (`sdsync send --variant/--holdout`):
-- its arm, the variant label, or `holdout` (never sent to), or `sent` (a holdout campaign without variants).
with source as (
    {{ smartdialog_source('campaign_assignments', {
        'campaign_id': dbt.type_string(), 'address': dbt.type_string(), 'variant': dbt.type_string(),
        'held_out': dbt.type_boolean()}) }}
)
select
    campaign_id || ':' || address as assignment_key,
    campaign_id,
    address,
    variant,
    held_out,
    case when held_out then 'holdout' else coalesce(variant, 'sent') end as arm
from source
