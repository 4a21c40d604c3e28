-- Validate crm_cleaned (phones resolved through phone_cache) into contact_candidates: per CRM row its
-- E.164 phone, the JSON payload for the API (camelCase, as the definition spells it), the payload's
-- hash, and why it is rejected (NULL when it is valid).
-- Parameters: $current_year, $customer, $group_service.
CREATE OR REPLACE TEMP TABLE contact_candidates AS
WITH typed AS (
    SELECT
        c.*,
        p.e164 AS phone,
        p.error AS phone_error,
        CASE lower(c.gender_text)
            WHEN 'm' THEN 'Male' WHEN 'male' THEN 'Male'
            WHEN 'f' THEN 'Female' WHEN 'female' THEN 'Female'
            WHEN 'other' THEN 'Other'
        END AS gender,
        try_cast(c.birth_year_text AS DOUBLE) AS birth_year_number,
        CASE
            WHEN c.active_text IN ('true', 't', 'yes', 'y', '1') THEN true
            WHEN c.active_text IN ('false', 'f', 'no', 'n', '0') THEN false
        END AS active
    FROM crm_cleaned c
    LEFT JOIN phone_cache p ON p.phone_raw = c.phone_text AND p.region = c.region
),
checked AS (
    SELECT
        t.*,
        CASE WHEN birth_year_number = floor(birth_year_number) THEN CAST(birth_year_number AS INTEGER) END AS birth_year,
        count(phone) OVER (PARTITION BY phone) AS phone_rows,
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
        phone,
        phone_rows,
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
hashed AS (
    SELECT *, md5(CAST(payload AS VARCHAR)) AS hash FROM payloads
)
SELECT
    h.row_no,
    h.source_key,
    h.phone,
    h.payload,
    h.hash,
    coalesce(
        h.field_errors,
        CASE WHEN h.phone_rows > 1 THEN 'duplicate phone ' || h.phone || ' (' || h.phone_rows || ' CRM rows)' END,
        'refused by SmartDialog: ' || r.reason
    ) AS reject_reason
FROM hashed h
LEFT JOIN server_rejections r
    ON r.customer = $customer AND r.group_service = $group_service AND r.phone = h.phone AND r.hash = h.hash
