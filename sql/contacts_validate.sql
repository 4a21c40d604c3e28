-- Validate the CRM rows (crm_rows, the fresh ones through the view crm_fresh) into contact_candidates: per CRM row its E.164 phone, the JSON
-- payload for the API (camelCase, as the definition spells it), the payload's hash, the row's raw hash,
-- why it is rejected (NULL when it is sent), the fields it had to leave out (warnings: field, value,
-- reason) and the fields whose value was normalised (normalised: field names).
--
-- Only the phone decides whether a row is sent: a row without a usable phone (empty, invalid,
-- duplicated, or refused by the service for this very payload) is rejected. The optional fields are
-- normalised through the temp tables gender_spellings and country_spellings (validation.register_lookups)
-- and birth years are read from dates or numbers; a field that still cannot be sent is left out of the
-- payload and reported as a warning.
--
-- Rows exactly as last applied (crm_rows.applied) are not normalised, validated or serialised again, and
-- are not candidates at all (they need no call) unless their phone is now duplicated: then they are
-- rejected candidates with a NULL payload. The fresh rows (table crm_fresh) go through every check.
-- Duplicates are counted over all rows without grouping every phone: an applied row carries the phone of
-- the contact it matched by raw hash, so two applied rows share a phone only when they share a raw hash,
-- and an applied row shares a fresh row's phone only through that contact.
-- Parameters: $current_year, $customer, $group_service.
CREATE OR REPLACE TEMP TABLE contact_candidates AS
WITH applied AS NOT MATERIALIZED (
    SELECT row_no, raw_hash FROM crm_rows WHERE applied
),
state AS NOT MATERIALIZED (
    SELECT phone, raw_hash FROM contact_state WHERE customer = $customer AND group_service = $group_service
),
fresh AS (
    SELECT * FROM crm_fresh
),
typed AS (
    SELECT
        f.*,
        p.e164 AS phone,
        p.error AS phone_error,
        g.gender,
        coalesce(c.alpha3, CASE WHEN regexp_full_match(f.country_code, '[A-Za-z]{3}') THEN upper(f.country_code) END)
            AS country_alpha3,
        CASE
            WHEN regexp_full_match(f.birth_year_text, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T].*)?')
                THEN CAST(left(f.birth_year_text, 4) AS INTEGER)
            WHEN regexp_full_match(f.birth_year_text, '[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{4}')
                THEN CAST(right(f.birth_year_text, 4) AS INTEGER)
            WHEN try_cast(f.birth_year_text AS DOUBLE) = floor(try_cast(f.birth_year_text AS DOUBLE))
                 AND abs(try_cast(f.birth_year_text AS DOUBLE)) < 100000
                THEN CAST(try_cast(f.birth_year_text AS DOUBLE) AS INTEGER)
        END AS year_read,
        CASE
            WHEN f.active_text IN ('true', 't', 'yes', 'y', '1') THEN true
            WHEN f.active_text IN ('false', 'f', 'no', 'n', '0') THEN false
        END AS active
    FROM fresh f
    LEFT JOIN fresh_phones p ON p.phone_raw = f.phone_text AND p.region = f.region
    LEFT JOIN gender_spellings g ON g.spelling = lower(f.gender_text)
    LEFT JOIN country_spellings c ON c.spelling = upper(f.country_code)
),
checked AS (
    SELECT
        t.*,
        CASE WHEN year_read BETWEEN 1900 AND $current_year THEN year_read END AS birth_year,
        CASE
            WHEN phone_text IS NULL THEN 'empty phone number'
            WHEN phone IS NULL THEN 'phone ' || phone_text || ': ' || coalesce(phone_error, 'not normalised')
        END AS phone_problem,
        list_filter([
            CASE WHEN gender_text IS NOT NULL AND gender IS NULL THEN
                {'field': 'gender', 'value': gender_text, 'reason': 'not Male, Female or Other, nor a known spelling of them'}
            END,
            CASE WHEN birth_year_text IS NOT NULL AND year_read IS NULL THEN
                {'field': 'birthYear', 'value': birth_year_text, 'reason': 'neither a year nor a date'}
            WHEN year_read IS NOT NULL AND NOT year_read BETWEEN 1900 AND $current_year THEN
                {'field': 'birthYear', 'value': birth_year_text, 'reason': 'implausible birth year ' || year_read}
            END,
            CASE WHEN country_code IS NOT NULL AND country_alpha3 IS NULL THEN
                {'field': 'countryCode', 'value': country_code, 'reason': 'not an ISO 3166 country code or name'}
            END,
            CASE WHEN active_text IS NOT NULL AND active IS NULL THEN
                {'field': 'active', 'value': active_text, 'reason': 'not a boolean'}
            END
        ], lambda w: w IS NOT NULL) AS warnings
    FROM typed t
),
payloads AS (
    SELECT
        row_no,
        source_key,
        raw_hash,
        phone,
        phone_problem,
        CASE WHEN phone_problem IS NULL THEN warnings END AS warnings,
        CASE WHEN phone_problem IS NULL THEN list_filter([
            CASE WHEN phone <> phone_text THEN 'phone' END,
            CASE WHEN gender <> gender_text THEN 'gender' END,
            CASE WHEN birth_year IS NOT NULL AND CAST(birth_year AS VARCHAR) <> birth_year_text THEN 'birthYear' END,
            CASE WHEN country_alpha3 <> country_code THEN 'countryCode' END
        ], lambda f: f IS NOT NULL) END AS normalised,
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
            'countryCode', country_alpha3,
            'active', active,
            'customContactProperties', CASE WHEN len(custom_properties) > 0 THEN custom_properties END,
            'phoneNumberRegions', [region]
        ) AS payload
    FROM checked
),
fresh_rows AS (
    SELECT row_no, source_key, raw_hash, phone, payload, md5(CAST(payload AS VARCHAR)) AS hash, phone_problem,
           warnings, normalised
    FROM payloads
),
fresh_phones AS (
    SELECT DISTINCT phone FROM fresh_rows WHERE phone IS NOT NULL
),
contacts_of_fresh_phones AS MATERIALIZED (
    -- the few contacts whose phone is on a fresh row (materialized: joined first, before the applied rows)
    SELECT s.phone, s.raw_hash FROM fresh_phones f JOIN state s ON s.phone = f.phone
),
applied_shared AS (
    -- applied rows whose contact's phone is on another row: a fresh one, or an applied one (same raw hash)
    SELECT c.phone, a.row_no, a.raw_hash
    FROM contacts_of_fresh_phones c JOIN applied a ON a.raw_hash = c.raw_hash
    UNION
    SELECT s.phone, a.row_no, a.raw_hash
    FROM (
        -- grouped only when there are more applied rows than contacts they matched (a row copied)
        SELECT raw_hash FROM applied
        WHERE (SELECT count(*) FROM applied)
              > (SELECT count(*) FROM state) - (SELECT count(*) FROM unmatched_state)
        GROUP BY raw_hash HAVING count(*) > 1
    ) t
    JOIN state s ON s.raw_hash = t.raw_hash JOIN applied a ON a.raw_hash = t.raw_hash
),
duplicates AS (
    SELECT phone AS duplicate_phone, count(*) AS phone_rows
    FROM (SELECT phone FROM fresh_rows WHERE phone IS NOT NULL UNION ALL SELECT phone FROM applied_shared)
    GROUP BY phone HAVING count(*) > 1
),
candidates AS (
    SELECT * FROM fresh_rows
    UNION ALL
    SELECT a.row_no, k.source_key, a.raw_hash, a.phone, CAST(NULL AS JSON) AS payload, NULL AS hash,
           NULL AS phone_problem, NULL AS warnings, NULL AS normalised
    FROM applied_shared a
    SEMI JOIN duplicates d ON d.duplicate_phone = a.phone
    JOIN crm_source k ON k.row_no = a.row_no  -- the key of the few duplicated applied rows, read again
)
SELECT
    a.row_no,
    a.source_key,
    a.raw_hash,
    a.phone,
    a.payload,
    a.hash,
    coalesce(
        a.phone_problem,
        'duplicate phone ' || d.duplicate_phone || ' (' || d.phone_rows || ' CRM rows)',
        'refused by SmartDialog: ' || r.reason
    ) AS reject_reason,
    a.warnings,
    a.normalised
FROM candidates a
LEFT JOIN duplicates d ON d.duplicate_phone = a.phone
LEFT JOIN server_rejections r  -- no_contact (update-only found no contact) is the plan's to judge, per mode
    ON r.customer = $customer AND r.group_service = $group_service AND r.phone = a.phone AND r.hash = a.hash
    AND r.reason <> 'no_contact'
