-- Trim the mapped CRM rows (view crm_source) in the view crm_cleaned: empty strings become NULL, the
-- phone region falls back to the default (variable contacts_default_region). A view, not a table: the
-- trimming is cheaper to repeat than 1M rows of strings are to materialise. raw_hash identifies a
-- row's content (with the default region, which changes what its phone means).
CREATE OR REPLACE TEMP VIEW crm_cleaned AS
SELECT
    *,
    hash(getvariable('contacts_default_region'), region, phone_text, email, first_name, last_name, gender_text,
         birth_year_text, street_address, zip_code, city, country_code, active_text, custom_properties) AS raw_hash
FROM (
    SELECT
        row_no,
        source_key,
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
    FROM crm_source
) AS trimmed
