-- One row per group contact read back from SmartDialog (customer, group service, phone).
with source as (
    {{ smartdialog_source('group_contacts', {
        'customer': dbt.type_string(), 'group_service': dbt.type_string(), 'phone': dbt.type_string(),
        'present': dbt.type_boolean(), 'first_name': dbt.type_string(), 'last_name': dbt.type_string(),
        'failed_messages': dbt.type_bigint()}) }}
)
select
    customer || '/' || group_service || '/' || phone as contact_key,
    customer,
    group_service,
    phone,
    coalesce(present, true) as present,
    nullif(trim(concat_ws(' ', first_name, last_name)), '') as contact_name,
    first_name,
    last_name,
    failed_messages as service_failed_messages
from source
