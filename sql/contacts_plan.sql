-- The diff: valid contact_candidates (the CRM rows validated this run) against what was last applied
-- (contact_state) for one group, into contact_plan. New phone -> create; changed hash (or unknown
-- content) -> update; in mirror mode, a managed contact whose phone no longer appears in the CRM at all
-- (no unchanged row matched it by raw hash: unmatched_state; and no candidate has its phone) -> delete
-- (a phone still present in a rejected or duplicated row is left alone). Unchanged rows produce nothing.
-- The mode narrows it: create-only plans no update of a contact the state knows; update-only plans an update
-- (never a create) for a phone the state does not know, except for a row an earlier update-only run found
-- without a contact (server_rejections reason no_contact, same payload): that row is reported again, not sent.
-- Parameters: $customer, $group_service, $mode (upsert | mirror | create-only | update-only).
CREATE OR REPLACE TEMP TABLE contact_plan AS
WITH state AS (
    SELECT phone, hash FROM contact_state WHERE customer = $customer AND group_service = $group_service
),
known_without_contact AS (
    SELECT v.row_no FROM contact_candidates v
    JOIN server_rejections r ON r.customer = $customer AND r.group_service = $group_service AND r.phone = v.phone
        AND r.hash = v.hash AND r.reason = 'no_contact'
    WHERE v.reject_reason IS NULL
),
changes AS (
    SELECT
        CASE WHEN s.phone IS NULL AND $mode <> 'update-only' THEN 'create' ELSE 'update' END AS op,
        v.phone,
        v.source_key,
        v.payload,
        v.hash,
        v.raw_hash
    FROM contact_candidates v
    LEFT JOIN state s ON s.phone = v.phone
    WHERE v.reject_reason IS NULL AND s.hash IS DISTINCT FROM v.hash
      AND NOT ($mode = 'create-only' AND s.phone IS NOT NULL)
      AND NOT ($mode = 'update-only' AND v.row_no IN (SELECT row_no FROM known_without_contact))
    UNION ALL
    SELECT 'delete' AS op, u.phone, NULL AS source_key, NULL AS payload, NULL AS hash, NULL AS raw_hash
    FROM unmatched_state u
    WHERE $mode = 'mirror' AND NOT EXISTS (SELECT 1 FROM contact_candidates c WHERE c.phone = u.phone)
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
