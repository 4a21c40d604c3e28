-- Counts of the current plan: CRM rows, rows to send (valid), rejected rows and ops by kind; rows whose contact
-- create-only leaves as it is (not_updated); rows update-only knows to have no contact (no_contact, an earlier
-- run's finding for the same payload); updates of contacts the state does not know (unknown_updates: update-only
-- reports a missing one as no_contact). Rows unchanged since applied are in crm_rows only (valid, no op).
-- Parameters: $customer, $group_service, $mode.
WITH state AS (
    SELECT phone, hash FROM contact_state WHERE customer = $customer AND group_service = $group_service
),
to_send AS (
    SELECT phone, hash FROM contact_candidates WHERE reject_reason IS NULL
)
SELECT
    (SELECT count(*) FROM crm_rows) AS source_rows,
    (SELECT count(*) FROM crm_rows) - (SELECT count(*) FROM contact_candidates WHERE reject_reason IS NOT NULL) AS valid,
    (SELECT count(*) FROM contact_candidates WHERE reject_reason IS NOT NULL) AS rejected,
    (SELECT count(*) FROM contact_plan WHERE op = 'create') AS creates,
    (SELECT count(*) FROM contact_plan WHERE op = 'update') AS updates,
    (SELECT count(*) FROM contact_plan WHERE op = 'delete') AS deletes,
    (SELECT count(*) FROM to_send v JOIN state s ON s.phone = v.phone
     WHERE $mode = 'create-only' AND s.hash IS DISTINCT FROM v.hash) AS not_updated,
    (SELECT count(*) FROM to_send v JOIN server_rejections r ON r.customer = $customer
        AND r.group_service = $group_service AND r.phone = v.phone AND r.hash = v.hash AND r.reason = 'no_contact'
     WHERE $mode = 'update-only') AS no_contact,
    (SELECT count(*) FROM contact_plan p WHERE op = 'update' AND p.phone NOT IN (SELECT phone FROM state))
        AS unknown_updates
