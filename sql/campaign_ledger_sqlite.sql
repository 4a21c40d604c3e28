-- The campaign ledger (SQLite; sql/campaign_ledger_postgres.sql has the same statements for PostgreSQL).
-- Sections start with "-- name: <statement>"; ledger.py runs them by name.
-- Stable for readers (the pull source joins delivery reports on sent_messages): campaigns,
-- campaign_batches, campaign_recipients, campaign_rejected, sent_messages.

-- name: schema
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('sms', 'whatsapp')),
    fingerprint TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    message TEXT NOT NULL,       -- JSON: the request fields every batch shares
    description TEXT NOT NULL,   -- JSON: source (password hidden), query, options
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_batches (
    campaign_id TEXT NOT NULL REFERENCES campaigns (campaign_id),
    batch_no INTEGER NOT NULL,
    request_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('planned', 'in_flight', 'sent', 'failed')),
    recipient_count INTEGER NOT NULL,
    body_parameters TEXT,        -- JSON array (WhatsApp)
    header_parameters TEXT,      -- JSON array (WhatsApp)
    message_id TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at TEXT,
    updated_at TEXT NOT NULL,
    send_date_time TEXT,         -- ISO 8601 UTC SendDateTime when scheduled (NULL: at once)
    time_zones TEXT,             -- JSON array: the recipients' zones (quiet hours at send time)
    PRIMARY KEY (campaign_id, batch_no)
);
CREATE TABLE IF NOT EXISTS campaign_recipients (
    campaign_id TEXT NOT NULL,
    batch_no INTEGER NOT NULL,
    position INTEGER NOT NULL,
    address TEXT NOT NULL,
    personalization TEXT NOT NULL, -- JSON object
    parts INTEGER,
    PRIMARY KEY (campaign_id, batch_no, position),
    UNIQUE (campaign_id, address)
);
CREATE TABLE IF NOT EXISTS campaign_rejected (
    campaign_id TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    raw_phone TEXT,
    address TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (campaign_id, row_number)
);
CREATE TABLE IF NOT EXISTS sent_messages (
    campaign_id TEXT NOT NULL,
    batch_no INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    message_id TEXT,
    recipient_id TEXT,
    address TEXT NOT NULL,
    parts INTEGER,
    sent_at TEXT NOT NULL,       -- ISO 8601 UTC
    PRIMARY KEY (campaign_id, address)
);
CREATE TABLE IF NOT EXISTS campaign_batch_splits (
    campaign_id TEXT NOT NULL,
    batch_no INTEGER NOT NULL,   -- the refused batch (never sent); its row is replaced by into_batches
    request_id TEXT NOT NULL,
    into_batches TEXT NOT NULL,  -- JSON array of the new batch numbers
    reason TEXT NOT NULL,
    split_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, batch_no)
);
CREATE TABLE IF NOT EXISTS campaign_assignments (
    campaign_id TEXT NOT NULL,   -- only campaigns with --variant or --holdout have rows: one per eligible recipient
    address TEXT NOT NULL,
    variant TEXT,                -- the A/B variant label (NULL: held out, or a campaign without variants)
    held_out INTEGER NOT NULL CHECK (held_out IN (0, 1)),  -- not sent: the control group
    PRIMARY KEY (campaign_id, address)
);
CREATE TABLE IF NOT EXISTS connection_limits (
    base_url TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    max_recipients INTEGER NOT NULL, -- the most recipients one send call may carry, learned from a refusal
    detail TEXT NOT NULL,
    learned_at TEXT NOT NULL,
    PRIMARY KEY (base_url, customer_id)
);
CREATE TABLE IF NOT EXISTS campaign_purposes (
    campaign_id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('marketing', 'transactional')) -- a campaign without a row: marketing
);
CREATE TABLE IF NOT EXISTS campaign_proofs (
    campaign_id TEXT NOT NULL,   -- the campaign the proof is of (written before the campaign itself)
    request_id TEXT PRIMARY KEY, -- the proof's own RequestId (never a campaign batch's)
    label TEXT NOT NULL,         -- which message (variant) the proof shows
    addresses TEXT NOT NULL,     -- JSON array of the proof numbers (E.164)
    status TEXT NOT NULL CHECK (status IN ('in_flight', 'sent', 'failed')),
    message_id TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_messages_by_message ON sent_messages (message_id);
CREATE INDEX IF NOT EXISTS sent_messages_by_recipient ON sent_messages (recipient_id);

-- name: migrate_batches
ALTER TABLE campaign_batches ADD COLUMN send_date_time TEXT;
ALTER TABLE campaign_batches ADD COLUMN time_zones TEXT;

-- name: campaign
SELECT campaign_id, kind, fingerprint, customer_id, service_id, message, description, created_at
FROM campaigns WHERE campaign_id = :campaign_id;

-- name: insert_campaign
INSERT INTO campaigns (campaign_id, kind, fingerprint, customer_id, service_id, message, description, created_at)
VALUES (:campaign_id, :kind, :fingerprint, :customer_id, :service_id, :message, :description, :now);

-- name: insert_batches
-- Bulk: rows (campaign_id, batch_no, request_id, status, recipient_count, body_parameters, header_parameters,
-- updated_at, send_date_time, time_zones).
INSERT INTO campaign_batches (campaign_id, batch_no, request_id, status, recipient_count, body_parameters,
                              header_parameters, updated_at, send_date_time, time_zones)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: insert_recipients
-- Bulk: rows (campaign_id, batch_no, position, address, personalization, parts).
INSERT INTO campaign_recipients (campaign_id, batch_no, position, address, personalization, parts)
VALUES (?, ?, ?, ?, ?, ?);

-- name: insert_rejected
-- Bulk: rows (campaign_id, row_number, raw_phone, address, reason, detail).
INSERT INTO campaign_rejected (campaign_id, row_number, raw_phone, address, reason, detail)
VALUES (?, ?, ?, ?, ?, ?);

-- name: insert_assignments
-- Bulk: rows (campaign_id, address, variant, held_out).
INSERT INTO campaign_assignments (campaign_id, address, variant, held_out)
VALUES (?, ?, ?, ?);

-- name: unsent_batch_variants
-- The variant of each unsent batch of a campaign with variants (every recipient of a batch has its variant).
SELECT r.batch_no, min(a.variant)
FROM campaign_recipients r
JOIN campaign_batches b ON b.campaign_id = r.campaign_id AND b.batch_no = r.batch_no
JOIN campaign_assignments a ON a.campaign_id = r.campaign_id AND a.address = r.address
WHERE r.campaign_id = :campaign_id AND b.status <> 'sent' GROUP BY r.batch_no;

-- name: unsent_batches
SELECT batch_no, request_id, status, body_parameters, header_parameters, first_attempt_at, send_date_time, time_zones
FROM campaign_batches WHERE campaign_id = :campaign_id AND status <> 'sent' ORDER BY batch_no;

-- name: unsent_recipients
SELECT r.batch_no, r.address, r.personalization, r.parts
FROM campaign_recipients r JOIN campaign_batches b ON b.campaign_id = r.campaign_id AND b.batch_no = r.batch_no
WHERE r.campaign_id = :campaign_id AND b.status <> 'sent' ORDER BY r.batch_no, r.position;

-- name: mark_in_flight
UPDATE campaign_batches
SET status = 'in_flight', attempts = attempts + 1, error = NULL,
    first_attempt_at = coalesce(first_attempt_at, :now), updated_at = :now
WHERE campaign_id = :campaign_id AND batch_no = :batch_no AND status <> 'sent';

-- name: mark_sent
UPDATE campaign_batches SET status = 'sent', message_id = :message_id, error = NULL, updated_at = :now
WHERE campaign_id = :campaign_id AND batch_no = :batch_no;

-- name: mark_failed
UPDATE campaign_batches SET status = 'failed', error = :error, updated_at = :now
WHERE campaign_id = :campaign_id AND batch_no = :batch_no;

-- name: insert_sent_messages
-- Bulk: rows (campaign_id, batch_no, request_id, message_id, recipient_id, address, parts, sent_at).
INSERT INTO sent_messages (campaign_id, batch_no, request_id, message_id, recipient_id, address, parts, sent_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: in_flight_batches
SELECT batch_no FROM campaign_batches WHERE campaign_id = :campaign_id AND status = 'in_flight' ORDER BY batch_no;

-- name: settle_sent
-- An in-flight batch the operator found delivered (`sdsync settle-batch --as sent`): sent, its recipients in
-- sent_messages without message ids, timed at the first attempt.
UPDATE campaign_batches SET status = 'sent', error = 'settled by hand: sent', updated_at = :now
WHERE campaign_id = :campaign_id AND batch_no = :batch_no AND status = 'in_flight';

-- name: settle_sent_messages
INSERT INTO sent_messages (campaign_id, batch_no, request_id, message_id, recipient_id, address, parts, sent_at)
SELECT r.campaign_id, r.batch_no, b.request_id, NULL, NULL, r.address, r.parts, coalesce(b.first_attempt_at, :now)
FROM campaign_recipients r JOIN campaign_batches b ON b.campaign_id = r.campaign_id AND b.batch_no = r.batch_no
WHERE r.campaign_id = :campaign_id AND r.batch_no = :batch_no
ON CONFLICT (campaign_id, address) DO NOTHING;

-- name: settle_not_sent
-- An in-flight batch the operator found not delivered (`--as not-sent`): planned again, sent by the next run.
UPDATE campaign_batches SET status = 'planned', first_attempt_at = NULL, error = 'settled by hand: not sent',
    updated_at = :now
WHERE campaign_id = :campaign_id AND batch_no = :batch_no AND status = 'in_flight';

-- name: status_counts
SELECT status, count(*), sum(recipient_count) FROM campaign_batches WHERE campaign_id = :campaign_id GROUP BY status;

-- name: rejected_counts
SELECT reason, count(*) FROM campaign_rejected WHERE campaign_id = :campaign_id GROUP BY reason ORDER BY reason;

-- name: max_batch_no
SELECT coalesce(max(batch_no), 0) FROM campaign_batches WHERE campaign_id = :campaign_id;

-- name: delete_unsent_batch
DELETE FROM campaign_batches WHERE campaign_id = :campaign_id AND batch_no = :batch_no AND status <> 'sent';

-- name: delete_batch_recipients
DELETE FROM campaign_recipients WHERE campaign_id = :campaign_id AND batch_no = :batch_no;

-- name: insert_split
INSERT INTO campaign_batch_splits (campaign_id, batch_no, request_id, into_batches, reason, split_at)
VALUES (:campaign_id, :batch_no, :request_id, :into_batches, :reason, :now);

-- name: has_sent
SELECT 1 FROM campaign_batches b JOIN campaigns c USING (campaign_id) WHERE c.customer_id = :customer_id AND b.status = 'sent' LIMIT 1;

-- name: learned_max
SELECT max_recipients FROM connection_limits WHERE base_url = :base_url AND customer_id = :customer_id;

-- name: learn_max
INSERT INTO connection_limits (base_url, customer_id, max_recipients, detail, learned_at)
VALUES (:base_url, :customer_id, :max_recipients, :detail, :now)
ON CONFLICT (base_url, customer_id) DO UPDATE
SET max_recipients = min(max_recipients, excluded.max_recipients), detail = excluded.detail, learned_at = excluded.learned_at;


-- Read-only queries of the readers (sdsync status, the source's sent_messages resource, state migrate).

-- name: read_campaigns
SELECT campaign_id, kind, customer_id, service_id, created_at FROM campaigns ORDER BY created_at, campaign_id;

-- name: read_campaign_names
-- What a person recognises a campaign by (the report and the dbt marts): channel, the start of its message or
-- its WhatsApp template name, when it was created.
SELECT campaign_id, CASE kind WHEN 'whatsapp' THEN 'WhatsApp' ELSE 'SMS' END AS protocol, customer_id, service_id,
       substr(json_extract(message, '$.content'), 1, 200) AS content_start, json_extract(message, '$.template_name') AS template_name, created_at
FROM campaigns ORDER BY campaign_id;

-- name: read_batch_states
SELECT campaign_id, status, count(*), coalesce(sum(recipient_count), 0),
       min(CASE WHEN status = 'in_flight' THEN coalesce(first_attempt_at, updated_at) END)
FROM campaign_batches GROUP BY campaign_id, status;

-- name: read_scheduled
-- Sent batches that SmartDialog delivers later: SendDateTime ahead, the batch's own (per-recipient timing) or the
-- campaign's (--at). ISO 8601 UTC strings to the second compare as times.
SELECT campaign_id, count(*), coalesce(sum(recipient_count), 0), min(send_at)
FROM (
    SELECT b.campaign_id, b.recipient_count,
           coalesce(b.send_date_time, json_extract(c.message, '$.send_date_time')) AS send_at
    FROM campaign_batches b JOIN campaigns c ON c.campaign_id = b.campaign_id
    WHERE b.status = 'sent'
)
WHERE send_at > :now GROUP BY campaign_id;

-- name: read_sent_messages
-- The sent messages after a rowid (the pull's cursor), in rowid order, with the protocol and service of their
-- campaign, the SendDateTime their batch was scheduled for and their A/B variant.
SELECT
    s.rowid AS ledger_rowid, s.campaign_id, s.batch_no, s.request_id, s.message_id, s.recipient_id,
    s.address, s.parts, s.sent_at,
    CASE c.kind WHEN 'whatsapp' THEN 'WhatsApp' ELSE 'SMS' END AS protocol,
    c.service_id,
    b.send_date_time AS scheduled_for,
    a.variant
FROM sent_messages AS s
LEFT JOIN campaigns AS c ON c.campaign_id = s.campaign_id
LEFT JOIN campaign_batches AS b ON b.campaign_id = s.campaign_id AND b.batch_no = s.batch_no
LEFT JOIN campaign_assignments AS a ON a.campaign_id = s.campaign_id AND a.address = s.address
WHERE s.rowid > :after
ORDER BY s.rowid
LIMIT :limit;

-- name: read_sent_messages_before_arms
-- read_sent_messages of a ledger no version with campaign_assignments has opened yet (read-only readers create nothing).
SELECT
    s.rowid AS ledger_rowid, s.campaign_id, s.batch_no, s.request_id, s.message_id, s.recipient_id,
    s.address, s.parts, s.sent_at,
    CASE c.kind WHEN 'whatsapp' THEN 'WhatsApp' ELSE 'SMS' END AS protocol,
    c.service_id,
    b.send_date_time AS scheduled_for,
    NULL AS variant
FROM sent_messages AS s
LEFT JOIN campaigns AS c ON c.campaign_id = s.campaign_id
LEFT JOIN campaign_batches AS b ON b.campaign_id = s.campaign_id AND b.batch_no = s.batch_no
WHERE s.rowid > :after
ORDER BY s.rowid
LIMIT :limit;

-- name: read_assigned_campaigns
-- The campaigns with variants or a holdout (the source's campaign_assignments resource reads each once).
SELECT DISTINCT campaign_id FROM campaign_assignments ORDER BY campaign_id;

-- name: read_assignments
-- Every eligible recipient of a campaign with its arm: the variant, or held out (not sent).
SELECT campaign_id, address, variant, held_out = 1 AS held_out FROM campaign_assignments
WHERE campaign_id = :campaign_id ORDER BY address;

-- name: tables
SELECT name FROM sqlite_master WHERE type = 'table';

-- name: export_campaigns
SELECT campaign_id, kind, fingerprint, customer_id, service_id, message, description, created_at
FROM campaigns ORDER BY campaign_id;

-- name: export_batches
SELECT campaign_id, batch_no, request_id, status, recipient_count, body_parameters, header_parameters, updated_at,
       send_date_time, time_zones, message_id, error, attempts, first_attempt_at
FROM campaign_batches WHERE campaign_id = :campaign_id ORDER BY batch_no;

-- name: export_recipients
SELECT campaign_id, batch_no, position, address, personalization, parts
FROM campaign_recipients WHERE campaign_id = :campaign_id ORDER BY batch_no, position;

-- name: export_rejected
SELECT campaign_id, row_number, raw_phone, address, reason, detail
FROM campaign_rejected WHERE campaign_id = :campaign_id ORDER BY row_number;

-- name: export_sent_messages
-- (rowid, then the columns of insert_sent_messages)
SELECT rowid, campaign_id, batch_no, request_id, message_id, recipient_id, address, parts, sent_at
FROM sent_messages WHERE campaign_id = :campaign_id ORDER BY address;

-- name: export_assignments
SELECT campaign_id, address, variant, held_out FROM campaign_assignments WHERE campaign_id = :campaign_id ORDER BY address;

-- name: export_splits
SELECT campaign_id, batch_no, request_id, into_batches, reason, split_at
FROM campaign_batch_splits WHERE campaign_id = :campaign_id ORDER BY batch_no;

-- name: export_limits
SELECT base_url, customer_id, max_recipients, detail, learned_at FROM connection_limits ORDER BY base_url, customer_id;


-- Purposes, frequency caps and proof sends (destinations/campaigns/frequency.py, proofs.py).

-- name: insert_purpose
INSERT INTO campaign_purposes (campaign_id, purpose) VALUES (:campaign_id, :purpose);

-- name: capped_addresses
-- Addresses that got at least :limit messages of marketing campaigns of :customer_id confirmed since :since
-- (campaigns without a purpose row are marketing; proofs are never in sent_messages).
-- The campaigns first: sent_messages is then read through its primary key, campaign by campaign.
SELECT address, COUNT(*) FROM sent_messages
WHERE campaign_id IN (SELECT c.campaign_id FROM campaigns c LEFT JOIN campaign_purposes p ON p.campaign_id = c.campaign_id
                      WHERE c.customer_id = :customer_id AND COALESCE(p.purpose, 'marketing') = 'marketing')
  AND sent_at >= :since
GROUP BY address HAVING COUNT(*) >= :limit;

-- name: proof
SELECT status, message_id, updated_at FROM campaign_proofs WHERE request_id = :request_id;

-- name: proof_in_flight
INSERT INTO campaign_proofs (campaign_id, request_id, label, addresses, status, created_at, updated_at)
VALUES (:campaign_id, :request_id, :label, :addresses, 'in_flight', :now, :now)
ON CONFLICT (request_id) DO UPDATE SET status = 'in_flight', error = NULL, updated_at = excluded.updated_at;

-- name: proof_done
UPDATE campaign_proofs SET status = :status, message_id = :message_id, error = :error, updated_at = :now
WHERE request_id = :request_id;

-- name: export_purposes
SELECT campaign_id, purpose FROM campaign_purposes WHERE campaign_id = :campaign_id;

-- name: import_purposes
-- Bulk: rows (campaign_id, purpose).
INSERT INTO campaign_purposes (campaign_id, purpose) VALUES (?, ?);
