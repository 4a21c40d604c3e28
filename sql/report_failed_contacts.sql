-- Contacts with failed messages: every address with at least one failed delivery report (Failed,
-- Expired, Rejected, Undeliverable), the campaigns it failed in, the last error, and its group contact
-- where the pull read one back (one row per group the address is in).
WITH failed AS (
    SELECT
        coalesce(report.address, sent.address) AS address,
        report.error_code,
        coalesce(report.status_time, report.received_at) AS failed_at,
        sent.campaign_id
    FROM src_delivery_reports AS report
    LEFT JOIN src_sent_messages AS sent
        ON sent.message_id = report.message_id AND sent.recipient_id = report.recipient_id
    WHERE lower(report.status) IN ('failed', 'expired', 'rejected', 'undeliverable', 'undelivered')
),
ranked AS (
    SELECT
        failed.*,
        row_number() OVER (PARTITION BY address ORDER BY failed_at DESC NULLS LAST, error_code NULLS LAST) AS newest
    FROM failed
    WHERE address IS NOT NULL
),
per_address AS (
    SELECT
        address,
        count(*) AS failed_reports,
        max(CASE WHEN newest = 1 THEN error_code END) AS last_error_code,
        max(failed_at) AS last_failed_at,
        string_agg(DISTINCT campaign_id, ', ' ORDER BY campaign_id) AS campaigns
    FROM ranked
    GROUP BY address
)
SELECT
    per_address.address,
    per_address.failed_reports,
    per_address.last_error_code,
    per_address.last_failed_at,
    per_address.campaigns,
    contact.group_service,
    nullif(trim(concat_ws(' ', contact.first_name, contact.last_name)), '') AS contact_name,
    contact.failed_messages AS service_failed_messages
FROM per_address
LEFT JOIN src_group_contacts AS contact
    ON contact.phone = per_address.address AND coalesce(contact.present, true)
ORDER BY per_address.failed_reports DESC, per_address.address, contact.group_service
