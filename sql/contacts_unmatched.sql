-- The contacts of one group that no CRM row matched by raw hash (crm_rows.applied), into the temp table
-- unmatched_state: those whose CRM row changed or left (about the rows changed, so few). The plan takes its
-- deletes from here, and validation counts from it whether two applied rows can share a contact.
-- Parameters: $customer, $group_service.
CREATE OR REPLACE TEMP TABLE unmatched_state AS
SELECT s.phone, s.raw_hash
FROM contact_state s
WHERE s.customer = $customer AND s.group_service = $group_service
  AND NOT EXISTS (SELECT 1 FROM crm_rows r WHERE r.applied AND r.raw_hash = s.raw_hash)
