-- Counts of the current plan: CRM rows, rows to send (valid), rejected rows and ops by kind. Rows
-- unchanged since applied are in crm_rows only (valid, no op).
SELECT
    (SELECT count(*) FROM crm_rows) AS source_rows,
    (SELECT count(*) FROM crm_rows) - (SELECT count(*) FROM contact_candidates WHERE reject_reason IS NOT NULL) AS valid,
    (SELECT count(*) FROM contact_candidates WHERE reject_reason IS NOT NULL) AS rejected,
    (SELECT count(*) FROM contact_plan WHERE op = 'create') AS creates,
    (SELECT count(*) FROM contact_plan WHERE op = 'update') AS updates,
    (SELECT count(*) FROM contact_plan WHERE op = 'delete') AS deletes
