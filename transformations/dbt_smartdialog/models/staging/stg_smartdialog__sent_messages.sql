-- One row per campaign recipient sent to (the campaign ledger), keyed by message id and recipient id.
with source as (
    {{ smartdialog_source('sent_messages', {
        'campaign_id': dbt.type_string(), 'batch_no': dbt.type_bigint(), 'message_id': dbt.type_string(),
        'recipient_id': dbt.type_string(), 'address': dbt.type_string(), 'parts': dbt.type_bigint(),
        'sent_at': dbt.type_timestamp(), 'protocol': dbt.type_string(), 'service_id': dbt.type_string(),
        'scheduled_for': dbt.type_timestamp()}) }}
)
select
    message_id || ':' || recipient_id as recipient_key,
    campaign_id,
    batch_no,
    message_id,
    recipient_id,
    address,
    coalesce(parts, 1) as parts,
    sent_at,
    scheduled_for,
    protocol,
    service_id
from source
