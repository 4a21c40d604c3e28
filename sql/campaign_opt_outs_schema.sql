-- The schema of the pulled dataset holding inbound_messages with the columns opt-outs are read from;
-- the dataset's own schema (:dataset) first when several do.
SELECT table_schema
FROM information_schema.columns
WHERE table_name = 'inbound_messages' AND column_name IN ('sender', 'content')
GROUP BY table_schema
HAVING count(*) = 2
ORDER BY table_schema <> :dataset, table_schema
LIMIT 1
