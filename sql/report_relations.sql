-- Relations several report queries read (pipelines/reporting/dataset.py puts each in place of the table of
-- its name), in DuckDB's dialect over the same `src_*` inputs as the queries themselves.

-- name: latest_report
-- The latest delivery report of each (message id, recipient id): its status in lower case.
SELECT message_id, recipient_id, lower(status) AS status
FROM src_delivery_reports
QUALIFY row_number() OVER (
    PARTITION BY message_id, recipient_id
    ORDER BY status_time DESC NULLS LAST, received_at DESC NULLS LAST, journal_seq DESC NULLS LAST
) = 1
