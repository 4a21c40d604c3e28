-- Tracked links and their clicks, in the receiver's journal (PostgreSQL; journal_links_sqlite.sql has the same
-- statements for SQLite). Sections start with "-- name: <statement>"; smartdialog_sync/journal.py runs them.

-- name: schema
SELECT pg_advisory_xact_lock(hashtext('sdsync_state_schema'));
CREATE TABLE IF NOT EXISTS journal_links (
    seq BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,  -- the short link's path segment: /l/<code>
    campaign_id TEXT NOT NULL,
    variant TEXT,  -- the campaign variant the recipient got (NULL without variants)
    recipient TEXT NOT NULL,  -- E.164 number
    target TEXT NOT NULL,  -- the only URL the code redirects to
    created_at_us BIGINT NOT NULL,
    expired_at_us BIGINT  -- set by `sdsync links expire`: answered 410 from then on
);
CREATE INDEX IF NOT EXISTS journal_links_by_campaign ON journal_links (campaign_id);
CREATE TABLE IF NOT EXISTS journal_link_clicks (
    seq BIGSERIAL PRIMARY KEY,
    click_id TEXT NOT NULL UNIQUE,  -- random, made by the receiver per request
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('click', 'preview')),
    agent TEXT NOT NULL,  -- coarse user-agent class (receiver/redirects.py), never the user agent itself
    clicked_at_us BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_link_secret (
    id SMALLINT PRIMARY KEY CHECK (id = 1),  -- one secret for every campaign planner sharing this journal
    secret TEXT NOT NULL,  -- the HMAC key of the link codes (never the webhook secret)
    created_at_us BIGINT NOT NULL
);

-- name: seed_link_secret
INSERT INTO journal_link_secret (id, secret, created_at_us) VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING;

-- name: get_link_secret
SELECT secret FROM journal_link_secret WHERE id = 1;

-- name: insert_links
-- One statement per page of links: each parameter is the array of one column. A code recorded already is kept.
INSERT INTO journal_links (code, campaign_id, variant, recipient, target, created_at_us)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[])
ON CONFLICT (code) DO NOTHING;

-- name: find_links
SELECT code, target, expired_at_us FROM journal_links WHERE code = ANY(%s::text[]);

-- name: insert_click
INSERT INTO journal_link_clicks (click_id, code, kind, agent, clicked_at_us) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (click_id) DO NOTHING;

-- name: expire_links
UPDATE journal_links SET expired_at_us = %s WHERE campaign_id = %s AND expired_at_us IS NULL;

-- name: count_links
SELECT COUNT(*), COUNT(expired_at_us) FROM journal_links WHERE campaign_id = %s;

-- name: read_link_clicks
SELECT c.seq, c.click_id, c.code, l.campaign_id, l.variant, l.recipient, l.target, c.kind, c.agent, c.clicked_at_us
FROM journal_link_clicks c JOIN journal_links l ON l.code = c.code
WHERE c.seq > %s ORDER BY c.seq LIMIT %s;

-- name: read_links
SELECT seq, code, campaign_id, variant, recipient, target, created_at_us FROM journal_links
WHERE seq > %s ORDER BY seq LIMIT %s;

-- name: prune_link_clicks
DELETE FROM journal_link_clicks
WHERE clicked_at_us < %s
  AND seq <= (SELECT MIN(seq) FROM journal_pull_marks WHERE table_name = 'link_clicks');

-- name: migrate_find_links
-- `sdsync state migrate`: the target's rows with a key or a sequence number of a batch being copied.
SELECT seq, code, campaign_id, variant, recipient, target, created_at_us, expired_at_us FROM journal_links
WHERE code = ANY(%s) OR seq = ANY(%s);

-- name: migrate_insert_links
INSERT INTO journal_links (seq, code, campaign_id, variant, recipient, target, created_at_us, expired_at_us)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[],
                     %s::bigint[]);

-- name: migrate_find_link_clicks
SELECT seq, click_id, code, kind, agent, clicked_at_us FROM journal_link_clicks WHERE click_id = ANY(%s) OR seq = ANY(%s);

-- name: migrate_insert_link_clicks
INSERT INTO journal_link_clicks (seq, click_id, code, kind, agent, clicked_at_us)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[]);
