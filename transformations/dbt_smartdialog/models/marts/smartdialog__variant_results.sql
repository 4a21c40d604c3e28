-- One row per arm (A/B variant, or the holdout) of each campaign with variants or a holdout: the figures of
-- `sdsync report`'s section "A/B variants and the holdout" (sql/report_variants.sql, which explains them).
-- A sent arm: its assigned recipients sent to; the holdout: never sent to. Replies and opt-outs count from the
-- campaign's first send for every arm. Against the holdout: the difference of the rates in percentage points with
-- its 95 % Newcombe (Wilson score) interval; a difference is claimed only where the interval excludes 0.
with assigned as (
    select * from {{ ref('stg_smartdialog__campaign_assignments') }}
),
sent as (
    select * from {{ ref('stg_smartdialog__sent_messages') }}
),
latest_report as (
    select * from {{ ref('stg_smartdialog__delivery_reports') }} where report_rank = 1
),
campaign_start as (
    select campaign_id, min(sent_at) as first_sent_at from sent group by campaign_id
),
members as (
    select assigned.campaign_id, assigned.address, assigned.arm, sent.message_id, sent.recipient_id
    from assigned
    left join sent on sent.campaign_id = assigned.campaign_id and sent.address = assigned.address
    where assigned.held_out or sent.address is not null
),
replies as (
    select
        members.campaign_id,
        members.address,
        max(case when inbound.is_stop_keyword then 1 else 0 end) as opted_out
    from members
    join campaign_start on campaign_start.campaign_id = members.campaign_id
    join {{ ref('stg_smartdialog__inbound_messages') }} as inbound
        on inbound.address = members.address and inbound.inbound_at >= campaign_start.first_sent_at
    group by members.campaign_id, members.address
),
arms as (
    select
        members.campaign_id,
        members.arm,
        count(*) as recipients,
        sum(case when latest_report.outcome = 'delivered' then 1 else 0 end) as delivered,
        count(replies.address) as replied,
        coalesce(sum(replies.opted_out), 0) as opted_out
    from members
    left join latest_report
        on latest_report.message_id = members.message_id and latest_report.recipient_id = members.recipient_id
    left join replies on replies.campaign_id = members.campaign_id and replies.address = members.address
    group by members.campaign_id, members.arm
),
wilson as (
    select
        campaign_id, arm, recipients, delivered, replied, opted_out,
        {{ smartdialog_wilson('replied', 'recipients', 'reply') }},
        {{ smartdialog_wilson('opted_out', 'recipients', 'opt_out') }}
    from arms
),
compared as (
    select
        arm.*,
        holdout.recipients as holdout_recipients,
        {{ smartdialog_newcombe('reply') }},
        {{ smartdialog_newcombe('opt_out') }}
    from wilson as arm
    left join wilson as holdout
        on holdout.campaign_id = arm.campaign_id and holdout.arm = 'holdout' and arm.arm <> 'holdout'
)
select
    campaign_id || ':' || arm as arm_key,
    campaign_id,
    arm,
    recipients,
    case when arm = 'holdout' then null else {{ smartdialog_pct('delivered', 'recipients') }} end as delivered_pct,
    cast(replied as {{ dbt.type_bigint() }}) as replied,
    {{ smartdialog_pct('replied', 'recipients') }} as reply_rate_pct,
    cast(opted_out as {{ dbt.type_bigint() }}) as opted_out,
    {{ smartdialog_pct('opted_out', 'recipients') }} as opt_out_rate_pct,
    holdout_recipients,
    {{ smartdialog_points('reply_diff') }} as reply_uplift_pp,
    {{ smartdialog_points('reply_low') }} as reply_uplift_low_pp,
    {{ smartdialog_points('reply_high') }} as reply_uplift_high_pp,
    {{ smartdialog_points('opt_out_diff') }} as opt_out_uplift_pp,
    {{ smartdialog_points('opt_out_low') }} as opt_out_uplift_low_pp,
    {{ smartdialog_points('opt_out_high') }} as opt_out_uplift_high_pp,
    case
        when arm = 'holdout' then 'holdout: not sent'
        when holdout_recipients is null then 'no holdout to compare with'
        when reply_low > 0 then 'more replies than the holdout (95 % interval above 0)'
        when reply_high < 0 then 'fewer replies than the holdout (95 % interval below 0)'
        else 'no winner: the 95 % interval spans 0'
    end as verdict
from compared
