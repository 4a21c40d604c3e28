-- Validate the CRM rows (crm_rows) into contact_candidates: per CRM row its E.164 phone, the JSON
-- payload for the API (camelCase, as the definition spells it), the payload's hash, the row's raw hash,
-- and why it is rejected (NULL when it is valid).
--
-- Rows exactly as last applied (crm_rows.applied_phone set) reuse that contact's phone and payload hash
-- and are not normalised, validated or serialised again (their payload stays NULL: they need no call).
-- The fresh rows go through every check. Duplicates are counted over all rows.
-- Parameters: $current_year, $customer, $group_service.
CREATE OR REPLACE TEMP TABLE contact_candidates AS
WITH applied AS (
    SELECT row_no, source_key, raw_hash, applied_phone AS phone, applied_hash AS hash
    FROM crm_rows
    WHERE applied_phone IS NOT NULL
),
fresh AS (
    SELECT unnest(fresh) FROM crm_rows WHERE fresh IS NOT NULL
),
typed AS (
    SELECT
        f.*,
        p.e164 AS phone,
        p.error AS phone_error,
        CASE lower(f.gender_text)
            WHEN 'm' THEN 'Male' WHEN 'male' THEN 'Male'
            WHEN 'f' THEN 'Female' WHEN 'female' THEN 'Female'
            WHEN 'other' THEN 'Other'
        END AS gender,
        try_cast(f.birth_year_text AS DOUBLE) AS birth_year_number,
        CASE
            WHEN f.active_text IN ('true', 't', 'yes', 'y', '1') THEN true
            WHEN f.active_text IN ('false', 'f', 'no', 'n', '0') THEN false
        END AS active
    FROM fresh f
    LEFT JOIN phone_cache p ON p.phone_raw = f.phone_text AND p.region = f.region
),
checked AS (
    SELECT
        t.*,
        CASE WHEN birth_year_number = floor(birth_year_number) THEN CAST(birth_year_number AS INTEGER) END AS birth_year,
        nullif(concat_ws('; ',
            CASE
                WHEN phone_text IS NULL THEN 'empty phone number'
                WHEN phone IS NULL THEN 'phone ' || phone_text || ': ' || coalesce(phone_error, 'not normalised')
            END,
            CASE
                WHEN gender_text IS NOT NULL AND gender IS NULL
                THEN 'gender ' || gender_text || ' is not Male, Female or Other'
            END,
            CASE
                WHEN birth_year_text IS NOT NULL
                     AND (birth_year_number IS NULL OR birth_year_number <> floor(birth_year_number))
                THEN 'birth year ' || birth_year_text || ' is not a whole number'
                WHEN birth_year_number < 1900 OR birth_year_number > $current_year
                THEN 'implausible birth year ' || birth_year_text
            END,
            CASE
                WHEN country_code IS NOT NULL AND NOT regexp_full_match(country_code, '[A-Z]{3}')
                THEN 'country code ' || country_code || ' is not 3 letters'
            END,
            CASE
                WHEN active_text IS NOT NULL AND active IS NULL THEN 'active ' || active_text || ' is not a boolean'
            END
        ), '') AS field_errors
    FROM typed t
),
payloads AS (
    SELECT
        row_no,
        source_key,
        raw_hash,
        phone,
        field_errors,
        json_object(
            'phone', phone,
            'email', email,
            'firstName', first_name,
            'lastName', last_name,
            'gender', gender,
            'birthYear', birth_year,
            'streetAddress', street_address,
            'zipCode', zip_code,
            'city', city,
            'countryCode', country_code,
            'active', active,
            'customContactProperties', CASE WHEN len(custom_properties) > 0 THEN custom_properties END,
            'phoneNumberRegions', [region]
        ) AS payload
    FROM checked
),
all_rows AS (
    SELECT row_no, source_key, raw_hash, phone, CAST(NULL AS JSON) AS payload, hash, NULL AS field_errors FROM applied
    UNION ALL
    SELECT row_no, source_key, raw_hash, phone, payload, md5(CAST(payload AS VARCHAR)) AS hash, field_errors FROM payloads
),
duplicates AS (
    SELECT phone AS duplicate_phone, count(*) AS phone_rows
    FROM all_rows WHERE phone IS NOT NULL GROUP BY phone HAVING count(*) > 1
)
SELECT
    a.row_no,
    a.source_key,
    a.raw_hash,
    a.phone,
    a.payload,
    a.hash,
    coalesce(
        a.field_errors,
        'duplicate phone ' || d.duplicate_phone || ' (' || d.phone_rows || ' CRM rows)',
        'refused by SmartDialog: ' || r.reason
    ) AS reject_reason
FROM all_rows a
LEFT JOIN duplicates d ON d.duplicate_phone = a.phone
LEFT JOIN server_rejections r
    ON r.customer = $customer AND r.group_service = $group_service AND r.phone = a.phone AND r.hash = a.hash
