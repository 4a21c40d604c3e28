-- Distinct (raw phone, region) pairs of crm_cleaned that phone_cache does not know yet.
SELECT DISTINCT c.phone_text, c.region
FROM crm_cleaned c
WHERE c.phone_text IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM phone_cache p WHERE p.phone_raw = c.phone_text AND p.region = c.region)
