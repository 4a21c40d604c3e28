-- Per field, how many rows to send (valid contact_candidates) had a value normalised, and how many had a
-- value left out (a field warning). Rows unchanged since they were applied are not validated again, so
-- they count in neither.
SELECT 'normalised' AS kind, field, count(*) AS row_count
FROM (SELECT unnest(normalised) AS field FROM contact_candidates WHERE reject_reason IS NULL)
GROUP BY ALL
UNION ALL
SELECT 'left out' AS kind, w.field, count(*) AS row_count
FROM (SELECT unnest(warnings) AS w FROM contact_candidates WHERE reject_reason IS NULL)
GROUP BY ALL
ORDER BY kind, row_count DESC, field
