-- One scan of the CRM rows (view crm_hashed) into crm_rows. A row whose raw_hash equals that of a
-- contact last applied in this group is exactly as it was when that contact got its 2xx: it keeps the
-- contact's phone (applied_phone), is not validated again and needs no call. Every other row carries its
-- raw values in `fresh` (a struct), read trimmed through the view crm_fresh.
-- Parameters: $customer, $group_service.
CREATE OR REPLACE TEMP TABLE crm_rows AS
SELECT
    c.row_no,
    c.source_key,
    c.raw_hash,
    s.phone AS applied_phone,
    CASE WHEN s.phone IS NULL THEN c END AS fresh
FROM crm_hashed c
LEFT JOIN contact_state s
    ON s.raw_hash = c.raw_hash AND s.customer = $customer AND s.group_service = $group_service
