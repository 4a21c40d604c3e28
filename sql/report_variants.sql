-- Results per A/B variant and against the holdout, for the campaigns with variants or a holdout (their
-- campaign_assignments). A sent arm: its assigned recipients that were sent to (sent_messages); the holdout: the
-- held-out recipients (never sent to). Delivered: the latest delivery report is Delivered (as in the funnel).
-- A reply / an opt-out: an inbound message (a stop keyword, as the suppression reads it) from the address at or
-- after the campaign's first send: the same moment for every arm, so the holdout is measured like the sent arms.
-- Against the holdout: the difference of the reply and opt-out rates in percentage points with its 95 %
-- Newcombe (Wilson score) interval; the verdict claims a difference only where the interval excludes 0.
-- latest_report: the shared relation of sql/report_relations.sql.
WITH campaign_start AS (
    SELECT campaign_id, min(sent_at) AS first_sent_at FROM src_sent_messages GROUP BY campaign_id
),
members AS (
    SELECT
        assigned.campaign_id,
        assigned.address,
        CASE WHEN assigned.held_out THEN 'holdout' ELSE coalesce(assigned.variant, 'sent') END AS arm,
        sent.message_id,
        sent.recipient_id
    FROM src_campaign_assignments AS assigned
    LEFT JOIN src_sent_messages AS sent ON sent.campaign_id = assigned.campaign_id AND sent.address = assigned.address
    WHERE assigned.held_out OR sent.address IS NOT NULL
),
replies AS (
    SELECT
        members.campaign_id,
        members.address,
        max(CASE WHEN upper(trim(inbound.content, ' .!?' || chr(9) || chr(10) || chr(13))) IN (SELECT keyword FROM stop_keywords)
            THEN 1 ELSE 0 END) AS opted_out
    FROM members
    JOIN campaign_start AS start ON start.campaign_id = members.campaign_id
    JOIN src_inbound_messages AS inbound
        ON inbound.sender = members.address
       AND coalesce(inbound."timestamp", inbound.received_at) >= start.first_sent_at
    GROUP BY members.campaign_id, members.address
),
arms AS (
    SELECT
        members.campaign_id,
        members.arm,
        count(*) AS recipients,
        count(*) FILTER (WHERE report.status = 'delivered') AS delivered,
        count(replies.address) AS replied,
        coalesce(sum(replies.opted_out), 0) AS opted_out
    FROM members
    LEFT JOIN latest_report AS report ON report.message_id = members.message_id AND report.recipient_id = members.recipient_id
    LEFT JOIN replies ON replies.campaign_id = members.campaign_id AND replies.address = members.address
    GROUP BY members.campaign_id, members.arm
),
wilson AS (
    -- Each rate with its 95 % Wilson score interval (z = 1.96, z^2 = 3.8416).
    SELECT
        campaign_id, arm, recipients, delivered, replied, opted_out,
        1.0 * replied / recipients AS reply_rate,
        (1.0 * replied / recipients + 3.8416 / (2 * recipients)) / (1 + 3.8416 / recipients) AS reply_centre,
        1.96 / (1 + 3.8416 / recipients) * sqrt(
            (1.0 * replied / recipients) * (1 - 1.0 * replied / recipients) / recipients
            + 3.8416 / (4.0 * recipients * recipients)) AS reply_half,
        1.0 * opted_out / recipients AS opt_out_rate,
        (1.0 * opted_out / recipients + 3.8416 / (2 * recipients)) / (1 + 3.8416 / recipients) AS opt_out_centre,
        1.96 / (1 + 3.8416 / recipients) * sqrt(
            (1.0 * opted_out / recipients) * (1 - 1.0 * opted_out / recipients) / recipients
            + 3.8416 / (4.0 * recipients * recipients)) AS opt_out_half
    FROM arms
),
compared AS (
    -- Newcombe's hybrid score interval of (arm rate - holdout rate).
    SELECT
        arm.*,
        holdout.recipients AS holdout_recipients,
        arm.reply_rate - holdout.reply_rate AS reply_diff,
        arm.reply_rate - holdout.reply_rate - sqrt(
            power(arm.reply_rate - (arm.reply_centre - arm.reply_half), 2)
            + power(holdout.reply_centre + holdout.reply_half - holdout.reply_rate, 2)) AS reply_low,
        arm.reply_rate - holdout.reply_rate + sqrt(
            power(arm.reply_centre + arm.reply_half - arm.reply_rate, 2)
            + power(holdout.reply_rate - (holdout.reply_centre - holdout.reply_half), 2)) AS reply_high,
        arm.opt_out_rate - holdout.opt_out_rate AS opt_out_diff,
        arm.opt_out_rate - holdout.opt_out_rate - sqrt(
            power(arm.opt_out_rate - (arm.opt_out_centre - arm.opt_out_half), 2)
            + power(holdout.opt_out_centre + holdout.opt_out_half - holdout.opt_out_rate, 2)) AS opt_out_low,
        arm.opt_out_rate - holdout.opt_out_rate + sqrt(
            power(arm.opt_out_centre + arm.opt_out_half - arm.opt_out_rate, 2)
            + power(holdout.opt_out_rate - (holdout.opt_out_centre - holdout.opt_out_half), 2)) AS opt_out_high
    FROM wilson AS arm
    LEFT JOIN wilson AS holdout ON holdout.campaign_id = arm.campaign_id AND holdout.arm = 'holdout' AND arm.arm <> 'holdout'
)
SELECT
    campaign_id,
    arm,
    recipients,
    CASE WHEN arm = 'holdout' THEN NULL ELSE round(CAST(100.0 * delivered / recipients AS DECIMAL(18, 6)), 1) END AS delivered_pct,
    replied,
    round(CAST(100.0 * reply_rate AS DECIMAL(18, 6)), 1) AS reply_rate_pct,
    opted_out,
    round(CAST(100.0 * opt_out_rate AS DECIMAL(18, 6)), 1) AS opt_out_rate_pct,
    holdout_recipients,
    round(CAST(100.0 * reply_diff AS DECIMAL(18, 6)), 1) AS reply_uplift_pp,
    round(CAST(100.0 * reply_low AS DECIMAL(18, 6)), 1) AS reply_uplift_low_pp,
    round(CAST(100.0 * reply_high AS DECIMAL(18, 6)), 1) AS reply_uplift_high_pp,
    round(CAST(100.0 * opt_out_diff AS DECIMAL(18, 6)), 1) AS opt_out_uplift_pp,
    round(CAST(100.0 * opt_out_low AS DECIMAL(18, 6)), 1) AS opt_out_uplift_low_pp,
    round(CAST(100.0 * opt_out_high AS DECIMAL(18, 6)), 1) AS opt_out_uplift_high_pp,
    CASE
        WHEN arm = 'holdout' THEN 'holdout: not sent'
        WHEN holdout_recipients IS NULL THEN 'no holdout to compare with'
        WHEN reply_low > 0 THEN 'more replies than the holdout (95 % interval above 0)'
        WHEN reply_high < 0 THEN 'fewer replies than the holdout (95 % interval below 0)'
        ELSE 'no winner: the 95 % interval spans 0'
    END AS verdict
FROM compared
ORDER BY campaign_id, CASE WHEN arm = 'holdout' THEN 1 ELSE 0 END, arm
