-- One row per outbound message recipient: its campaign, parts, scheduled and sent time, latest delivery
-- status, and whether the address replied (or opted out with a stop keyword) at or after the send.
-- `variant` is the A/B variant the recipient was sent (campaign_assignments); NULL for campaigns without variants.
with sent as (
    select * from {{ ref('stg_smartdialog__sent_messages') }}
),
latest_report as (
    select * from {{ ref('stg_smartdialog__delivery_reports') }} where report_rank = 1
),
replies as (
    select
        sent.recipient_key,
        min(inbound.inbound_at) as first_reply_at,
        count(*) as replies,
        max(case when inbound.is_stop_keyword then 1 else 0 end) as opted_out
    from sent
    join {{ ref('stg_smartdialog__inbound_messages') }} as inbound
        on inbound.address = sent.address and inbound.inbound_at >= sent.sent_at
    group by sent.recipient_key
)
select
    sent.recipient_key,
    sent.campaign_id,
    assigned.variant,
    sent.batch_no,
    sent.message_id,
    sent.recipient_id,
    sent.address,
    sent.protocol,
    sent.service_id,
    sent.parts,
    sent.scheduled_for,
    sent.sent_at,
    latest_report.status as latest_status,
    coalesce(latest_report.outcome, 'pending') as delivery_outcome,
    coalesce(latest_report.status_time, latest_report.received_at) as latest_status_at,
    latest_report.error_code,
    replies.recipient_key is not null as replied,
    coalesce(replies.opted_out = 1, false) as opted_out,
    replies.first_reply_at,
    coalesce(replies.replies, 0) as replies
from sent
left join latest_report
    on latest_report.message_id = sent.message_id and latest_report.recipient_id = sent.recipient_id
left join replies
    on replies.recipient_key = sent.recipient_key
left join {{ ref('stg_smartdialog__campaign_assignments') }} as assigned
    on assigned.campaign_id = sent.campaign_id and assigned.address = sent.address
