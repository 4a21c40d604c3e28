-- One row per request of a tracked link, timed from the send to its recipient: seconds after the send and
-- the bucket `sdsync report` counts clicks in (within 1 h, 1-6 h, 6-24 h, 1-7 days, later; NULL: no send found).
with clicks as (
    select * from {{ ref('stg_smartdialog__link_clicks') }}
),
sent as (
    select campaign_id, address, min(sent_at) as sent_at
    from {{ ref('stg_smartdialog__sent_messages') }}
    group by campaign_id, address
),
timed as (
    select
        clicks.*,
        sent.sent_at,
        {{ dbt.datediff('sent.sent_at', 'clicks.clicked_at', 'second') }} as seconds_after_send
    from clicks
    left join sent on sent.campaign_id = clicks.campaign_id and sent.address = clicks.address
)
select
    click_id,
    code,
    campaign_id,
    variant,
    address,
    kind,
    agent,
    clicked_at,
    sent_at,
    seconds_after_send,
    case
        when seconds_after_send is null then null
        when seconds_after_send < 3600 then 'within 1 h'
        when seconds_after_send < 6 * 3600 then '1-6 h'
        when seconds_after_send < 24 * 3600 then '6-24 h'
        when seconds_after_send < 7 * 86400 then '1-7 days'
        else 'later'
    end as after_send
from timed
