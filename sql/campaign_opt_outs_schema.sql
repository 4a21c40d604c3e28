-- The schema of the pulled dataset (attached as catalog `pulled`) holding inbound_messages with the
-- columns opt-outs are read from; `smartdialog` first when several do.
SELECT table_schema
FROM information_schema.columns
WHERE table_catalog = 'pulled' AND table_name = 'inbound_messages' AND column_name IN ('sender', 'content')
GROUP BY table_schema
HAVING count(*) = 2
ORDER BY table_schema <> 'smartdialog', table_schema
LIMIT 1
