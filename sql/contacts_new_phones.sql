-- Distinct (raw phone, region) pairs of the rows to validate (crm_rows.fresh) that phone_cache does not
-- know yet.
SELECT DISTINCT r.fresh.phone_text, r.fresh.region
FROM crm_rows r
WHERE r.fresh IS NOT NULL
  AND r.fresh.phone_text IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM phone_cache p WHERE p.phone_raw = r.fresh.phone_text AND p.region = r.fresh.region)
