-- One row per group contact: messages sent to it and their outcomes, replies and opt-outs, and its last activity.
with sent as (
    select
        address,
        count(*) as messages_sent,
        sum(case when delivery_outcome = 'delivered' then 1 else 0 end) as delivered,
        sum(case when delivery_outcome = 'failed' then 1 else 0 end) as failed,
        max(sent_at) as last_sent_at
    from {{ ref('smartdialog__message_recipients') }}
    group by address
),
inbound as (
    select
        address,
        count(*) as messages_received,
        max(case when is_stop_keyword then 1 else 0 end) as opted_out,
        max(inbound_at) as last_inbound_at
    from {{ ref('stg_smartdialog__inbound_messages') }}
    group by address
)
select
    contact.contact_key,
    contact.customer,
    contact.group_service,
    contact.phone,
    contact.contact_name,
    contact.present,
    contact.service_failed_messages,
    coalesce(sent.messages_sent, 0) as messages_sent,
    cast(coalesce(sent.delivered, 0) as {{ dbt.type_bigint() }}) as delivered,
    cast(coalesce(sent.failed, 0) as {{ dbt.type_bigint() }}) as failed,
    coalesce(inbound.messages_received, 0) as messages_received,
    coalesce(inbound.opted_out = 1, false) as ever_opted_out,
    sent.last_sent_at,
    inbound.last_inbound_at,
    case
        when sent.last_sent_at is null then inbound.last_inbound_at
        when inbound.last_inbound_at is null or sent.last_sent_at >= inbound.last_inbound_at then sent.last_sent_at
        else inbound.last_inbound_at
    end as last_activity_at
from {{ ref('stg_smartdialog__group_contacts') }} as contact
left join sent on sent.address = contact.phone
left join inbound on inbound.address = contact.phone
