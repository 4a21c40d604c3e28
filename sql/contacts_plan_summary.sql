-- Counts of the current plan: CRM rows, valid rows, rejected rows and ops by kind.
SELECT
    (SELECT count(*) FROM contact_candidates) AS source_rows,
    (SELECT count(*) FROM contact_candidates WHERE reject_reason IS NULL) AS valid,
    (SELECT count(*) FROM contact_candidates WHERE reject_reason IS NOT NULL) AS rejected,
    (SELECT count(*) FROM contact_plan WHERE op = 'create') AS creates,
    (SELECT count(*) FROM contact_plan WHERE op = 'update') AS updates,
    (SELECT count(*) FROM contact_plan WHERE op = 'delete') AS deletes
