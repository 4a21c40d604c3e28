-- One row per campaign: recipients, delivered / failed / pending (latest report per recipient), and the
-- reply and opt-out rates (distinct addresses that replied / opted out after the send, of the distinct addresses sent to).
with recipients as (
    select * from {{ ref('smartdialog__message_recipients') }}
),
per_address as (
    select
        campaign_id,
        address,
        max(case when replied then 1 else 0 end) as replied,
        max(case when opted_out then 1 else 0 end) as opted_out
    from recipients
    group by campaign_id, address
),
rates as (
    select campaign_id, count(*) as addresses, sum(replied) as replied, sum(opted_out) as opted_out
    from per_address
    group by campaign_id
),
funnel as (
    select
        campaign_id,
        min(sent_at) as first_sent_at,
        max(sent_at) as last_sent_at,
        min(protocol) as protocol,
        min(service_id) as service_id,
        count(*) as sent,
        sum(parts) as parts,
        sum(case when delivery_outcome = 'delivered' then 1 else 0 end) as delivered,
        sum(case when delivery_outcome = 'failed' then 1 else 0 end) as failed,
        sum(case when delivery_outcome = 'pending' then 1 else 0 end) as pending
    from recipients
    group by campaign_id
)
select
    funnel.campaign_id,
    funnel.first_sent_at,
    funnel.last_sent_at,
    funnel.protocol,
    funnel.service_id,
    funnel.sent,
    cast(funnel.parts as {{ dbt.type_bigint() }}) as parts,
    cast(funnel.delivered as {{ dbt.type_bigint() }}) as delivered,
    cast(funnel.failed as {{ dbt.type_bigint() }}) as failed,
    cast(funnel.pending as {{ dbt.type_bigint() }}) as pending,
    {{ smartdialog_pct('funnel.delivered', 'funnel.sent') }} as delivered_pct,
    rates.addresses as recipients,
    cast(rates.replied as {{ dbt.type_bigint() }}) as replied,
    cast(rates.opted_out as {{ dbt.type_bigint() }}) as opted_out,
    {{ smartdialog_pct('rates.replied', 'rates.addresses') }} as reply_rate_pct,
    {{ smartdialog_pct('rates.opted_out', 'rates.addresses') }} as opt_out_rate_pct
from funnel
join rates on rates.campaign_id = funnel.campaign_id
