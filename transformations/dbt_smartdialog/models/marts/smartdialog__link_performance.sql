-- One row per campaign and variant with tracked links: recipients with a link, unique clickers, the
-- click-through rate (unique clickers / recipients with a link), clicks, and previews apart; the figures of
-- `sdsync report`'s tracked-links section.
with links as (
    select campaign_id, variant, count(distinct address) as recipients_with_link
    from {{ ref('stg_smartdialog__tracked_links') }}
    group by campaign_id, variant
),
requests as (
    select
        campaign_id,
        variant,
        count(distinct case when kind = 'click' then address end) as unique_clickers,
        sum(case when kind = 'click' then 1 else 0 end) as clicks,
        sum(case when kind = 'preview' then 1 else 0 end) as previews,
        min(case when kind = 'click' then clicked_at end) as first_click_at
    from {{ ref('stg_smartdialog__link_clicks') }}
    group by campaign_id, variant
)
select
    links.campaign_id,
    links.variant,
    links.recipients_with_link,
    cast(coalesce(requests.unique_clickers, 0) as {{ dbt.type_bigint() }}) as unique_clickers,
    {{ smartdialog_pct('coalesce(requests.unique_clickers, 0)', 'links.recipients_with_link') }} as click_through_pct,
    cast(coalesce(requests.clicks, 0) as {{ dbt.type_bigint() }}) as clicks,
    cast(coalesce(requests.previews, 0) as {{ dbt.type_bigint() }}) as previews,
    requests.first_click_at
from links
left join requests on requests.campaign_id = links.campaign_id and requests.variant = links.variant
