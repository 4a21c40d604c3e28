-- Distinct (raw phone, region) pairs of the rows to validate (table crm_fresh) that phone_cache does not
-- know yet.
SELECT DISTINCT f.phone_text, f.region
FROM crm_fresh f
WHERE f.phone_text IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM phone_cache p WHERE p.phone_raw = f.phone_text AND p.region = f.region)
