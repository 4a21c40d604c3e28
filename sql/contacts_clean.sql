-- The CRM rows (view crm_source) with the hash of their raw content, into the temp table crm_hashed (row_no,
-- raw_hash). raw_hash identifies a row's content as read (with the default region, which changes what its phone
-- means), so it is computed on the raw text: trimming a million rows costs more than re-validating the few rows
-- whose only change is surrounding whitespace. Hashed before the state is read, so that a state being loaded
-- from PostgreSQL meanwhile is waited for only after this scan.
CREATE OR REPLACE TEMP TABLE crm_hashed AS
SELECT
    row_no,
    hash(getvariable('contacts_default_region'), region_raw, phone_raw, email_raw, first_name_raw, last_name_raw,
         gender_raw, birth_year_raw, street_address_raw, zip_code_raw, city_raw, country_code_raw, active_raw,
         custom_raw) AS raw_hash
FROM crm_source;
