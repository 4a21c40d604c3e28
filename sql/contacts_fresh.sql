-- The rows to validate (crm_rows.fresh), trimmed: empty strings become NULL, the phone region falls back to
-- the default (variable contacts_default_region). A table, so that the joins know how few rows it holds.
CREATE OR REPLACE TEMP TABLE crm_fresh AS
SELECT
    row_no,
    source_key,
    raw_hash,
    coalesce(nullif(upper(trim(region_raw)), ''), getvariable('contacts_default_region')) AS region,
    nullif(trim(phone_raw), '') AS phone_text,
    nullif(trim(email_raw), '') AS email,
    nullif(trim(first_name_raw), '') AS first_name,
    nullif(trim(last_name_raw), '') AS last_name,
    nullif(trim(gender_raw), '') AS gender_text,
    nullif(trim(birth_year_raw), '') AS birth_year_text,
    nullif(trim(street_address_raw), '') AS street_address,
    nullif(trim(zip_code_raw), '') AS zip_code,
    nullif(trim(city_raw), '') AS city,
    nullif(trim(country_code_raw), '') AS country_code,
    nullif(lower(trim(active_raw)), '') AS active_text,
    list_filter(custom_raw, lambda p: nullif(trim(p.value), '') IS NOT NULL) AS custom_properties
FROM (SELECT unnest(fresh) FROM crm_rows WHERE fresh IS NOT NULL);
