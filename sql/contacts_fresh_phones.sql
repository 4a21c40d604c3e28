-- The distinct (raw phone, region) pairs of the rows to validate (table crm_fresh), looked up once in
-- phone_cache, into the temp table fresh_phones: E.164 or the reason it is invalid, and whether the cache
-- knew the pair (the others are normalised in Python, then added to both tables).
CREATE OR REPLACE TEMP TABLE fresh_phones AS
SELECT f.phone_text AS phone_raw, f.region, p.e164, p.error, p.phone_raw IS NOT NULL AS cached
FROM (SELECT DISTINCT phone_text, region FROM crm_fresh WHERE phone_text IS NOT NULL) f
LEFT JOIN phone_cache p ON p.phone_raw = f.phone_text AND p.region = f.region
