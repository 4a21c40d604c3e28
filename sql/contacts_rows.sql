-- One scan of the CRM rows (view crm_hashed) into crm_rows. A row whose raw_hash equals that of a
-- contact last applied in this group is exactly as it was when that contact got its 2xx (`applied`): it
-- is not validated again and needs no call. Every other row carries its raw values in `fresh` (a struct),
-- trimmed into the table crm_fresh. No string of an applied row is copied: a nightly run touches the
-- strings of the changed rows only.
-- Parameters: $customer, $group_service.
CREATE OR REPLACE TEMP TABLE crm_rows AS
SELECT
    c.row_no,
    c.source_key,
    c.raw_hash,
    s.raw_hash IS NOT NULL AS applied,
    CASE WHEN s.phone IS NULL THEN c END AS fresh
FROM crm_hashed c
LEFT JOIN contact_state s
    ON s.raw_hash = c.raw_hash AND s.customer = $customer AND s.group_service = $group_service
