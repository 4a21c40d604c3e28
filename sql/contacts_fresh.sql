-- The rows to validate (not applied in crm_rows), read again from crm_source and trimmed: empty strings
-- become NULL, the phone region falls back to the default (variable contacts_default_region). A table, so
-- that the joins know how few rows it holds.
CREATE OR REPLACE TEMP TABLE crm_fresh AS
SELECT
    c.row_no,
    c.source_key,
    r.raw_hash,
    coalesce(nullif(upper(trim(c.region_raw)), ''), getvariable('contacts_default_region')) AS region,
    nullif(trim(c.phone_raw), '') AS phone_text,
    nullif(trim(c.email_raw), '') AS email,
    nullif(trim(c.first_name_raw), '') AS first_name,
    nullif(trim(c.last_name_raw), '') AS last_name,
    nullif(trim(c.gender_raw), '') AS gender_text,
    nullif(trim(c.birth_year_raw), '') AS birth_year_text,
    nullif(trim(c.street_address_raw), '') AS street_address,
    nullif(trim(c.zip_code_raw), '') AS zip_code,
    nullif(trim(c.city_raw), '') AS city,
    nullif(trim(c.country_code_raw), '') AS country_code,
    nullif(lower(trim(c.active_raw)), '') AS active_text,
    list_filter(c.custom_raw, lambda p: nullif(trim(p.value), '') IS NOT NULL) AS custom_properties
FROM crm_source c
JOIN (SELECT row_no, raw_hash FROM crm_rows WHERE NOT applied) r ON r.row_no = c.row_no
