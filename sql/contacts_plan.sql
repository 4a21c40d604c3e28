-- The diff: valid contact_candidates (the CRM rows validated this run) against what was last applied
-- (contact_state) for one group, into contact_plan. New phone -> create; changed hash (or unknown
-- content) -> update; in mirror mode, a managed contact whose phone no longer appears in the CRM at all
-- (no unchanged row matched it by raw hash: unmatched_state; and no candidate has its phone) -> delete
-- (a phone still present in a rejected or duplicated row is left alone). Unchanged rows produce nothing.
-- Parameters: $customer, $group_service, $mirror.
CREATE OR REPLACE TEMP TABLE contact_plan AS
WITH state AS (
    SELECT phone, hash FROM contact_state WHERE customer = $customer AND group_service = $group_service
),
changes AS (
    SELECT
        CASE WHEN s.phone IS NULL THEN 'create' ELSE 'update' END AS op,
        v.phone,
        v.source_key,
        v.payload,
        v.hash,
        v.raw_hash
    FROM contact_candidates v
    LEFT JOIN state s ON s.phone = v.phone
    WHERE v.reject_reason IS NULL AND s.hash IS DISTINCT FROM v.hash
    UNION ALL
    SELECT 'delete' AS op, u.phone, NULL AS source_key, NULL AS payload, NULL AS hash, NULL AS raw_hash
    FROM unmatched_state u
    WHERE $mirror AND NOT EXISTS (SELECT 1 FROM contact_candidates c WHERE c.phone = u.phone)
)
SELECT
    row_number() OVER (ORDER BY CASE op WHEN 'create' THEN 1 WHEN 'update' THEN 2 ELSE 3 END, phone) AS seq,
    op,
    phone,
    source_key,
    payload,
    hash,
    raw_hash
FROM changes
