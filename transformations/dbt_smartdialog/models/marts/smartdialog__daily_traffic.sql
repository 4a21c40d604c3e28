-- Messages in and out per day (UTC), protocol and service: inbound messages by the service number they
-- were sent to, outbound campaign recipients with the SMS parts billed.
with traffic as (
    select
        cast(inbound_at at time zone 'UTC' as date) as day,
        'inbound' as direction,
        protocol,
        service,
        1 as parts
    from {{ ref('stg_smartdialog__inbound_messages') }}
    union all
    select
        cast(sent_at at time zone 'UTC' as date) as day,
        'outbound' as direction,
        protocol,
        service_id as service,
        parts
    from {{ ref('stg_smartdialog__sent_messages') }}
)
select
    cast(day as {{ dbt.type_string() }}) || '/' || direction || '/' || coalesce(protocol, '?') || '/' || coalesce(service, '?') as traffic_key,
    day,
    direction,
    coalesce(protocol, '?') as protocol,
    coalesce(service, '?') as service,
    count(*) as messages,
    cast(sum(parts) as {{ dbt.type_bigint() }}) as parts
from traffic
where day is not null
group by day, direction, coalesce(protocol, '?'), coalesce(service, '?')
