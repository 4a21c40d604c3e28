-- One row per inbound message: who sent it (address), to which service number, when (UTC), and whether it is a stop keyword.
with source as (
    {{ smartdialog_source('inbound_messages', {
        'message_id': dbt.type_string(), 'sender': dbt.type_string(), 'recipient': dbt.type_string(),
        'content': dbt.type_string(), 'protocol': dbt.type_string(),
        'timestamp': dbt.type_timestamp(), 'received_at': dbt.type_timestamp()}) }}
)
select
    message_id,
    sender as address,
    recipient as service,
    content,
    protocol,
    coalesce({{ adapter.quote('timestamp') }}, received_at) as inbound_at,
    received_at,
    coalesce({{ smartdialog_is_stop('content') }}, false) as is_stop_keyword
from source
