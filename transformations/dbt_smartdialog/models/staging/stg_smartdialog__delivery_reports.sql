-- One row per delivery report, with its lower-cased status, its outcome and a rank (1: the latest for its recipient).
with source as (
    {{ smartdialog_source('delivery_reports', {
        'journal_seq': dbt.type_bigint(), 'message_id': dbt.type_string(), 'recipient_id': dbt.type_string(),
        'address': dbt.type_string(), 'status': dbt.type_string(), 'status_time': dbt.type_timestamp(),
        'error_code': dbt.type_string(), 'received_at': dbt.type_timestamp()}) }}
)
select
    journal_seq,
    message_id,
    recipient_id,
    address,
    lower(status) as status,
    {{ smartdialog_outcome('lower(status)') }} as outcome,
    status_time,
    error_code,
    received_at,
    row_number() over (
        partition by message_id, recipient_id
        order by status_time desc nulls last, received_at desc nulls last, journal_seq desc nulls last
    ) as report_rank
from source
