-- The CRM rows' hashes (table crm_hashed) into crm_rows: row number, raw hash, and whether the row is
-- exactly as it was when a contact of this group got its 2xx (`applied`: its raw_hash is that contact's).
-- An applied row is not validated again and needs no call. No string is copied: a nightly run touches the
-- strings of the changed rows only (contacts_fresh.sql).
-- Parameters: $customer, $group_service.
CREATE OR REPLACE TEMP TABLE crm_rows AS
SELECT
    c.row_no,
    c.raw_hash,
    s.raw_hash IS NOT NULL AS applied
FROM crm_hashed c
LEFT JOIN contact_state s
    ON s.raw_hash = c.raw_hash AND s.customer = $customer AND s.group_service = $group_service
