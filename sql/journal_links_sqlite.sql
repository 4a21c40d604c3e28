-- Tracked links and their clicks, in the receiver's journal (SQLite; journal_links_postgres.sql has the same
-- statements for PostgreSQL). Sections start with "-- name: <statement>"; smartdialog_sync/journal.py runs them.

-- name: schema
CREATE TABLE IF NOT EXISTS journal_links (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,  -- the short link's path segment: /l/<code>
    campaign_id TEXT NOT NULL,
    variant TEXT,  -- the campaign variant the recipient got (NULL without variants)
    recipient TEXT NOT NULL,  -- E.164 number
    target TEXT NOT NULL,  -- the only URL the code redirects to
    created_at_us INTEGER NOT NULL,
    expired_at_us INTEGER  -- set by `sdsync links expire`: answered 410 from then on
);
CREATE INDEX IF NOT EXISTS journal_links_by_campaign ON journal_links (campaign_id);
CREATE TABLE IF NOT EXISTS journal_link_clicks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    click_id TEXT NOT NULL UNIQUE,  -- random, made by the receiver per request
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('click', 'preview')),
    agent TEXT NOT NULL,  -- coarse user-agent class (receiver/redirects.py), never the user agent itself
    clicked_at_us INTEGER NOT NULL
);

-- name: insert_links
-- A re-planned campaign makes the same codes: a code recorded already is kept.
INSERT INTO journal_links (code, campaign_id, variant, recipient, target, created_at_us)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (code) DO NOTHING;

-- name: find_links
-- The links of a group commit's clicks: its parameter is a JSON array of codes.
SELECT code, target, expired_at_us FROM journal_links WHERE code IN (SELECT value FROM json_each(?));

-- name: insert_click
INSERT INTO journal_link_clicks (click_id, code, kind, agent, clicked_at_us) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (click_id) DO NOTHING;

-- name: expire_links
UPDATE journal_links SET expired_at_us = ? WHERE campaign_id = ? AND expired_at_us IS NULL;

-- name: count_links
SELECT COUNT(*), COUNT(expired_at_us) FROM journal_links WHERE campaign_id = ?;

-- name: read_link_clicks
SELECT c.seq, c.click_id, c.code, l.campaign_id, l.variant, l.recipient, l.target, c.kind, c.agent, c.clicked_at_us
FROM journal_link_clicks c JOIN journal_links l ON l.code = c.code
WHERE c.seq > ? ORDER BY c.seq LIMIT ?;

-- name: read_links
SELECT seq, code, campaign_id, variant, recipient, target, created_at_us FROM journal_links
WHERE seq > ? ORDER BY seq LIMIT ?;

-- name: prune_link_clicks
DELETE FROM journal_link_clicks
WHERE clicked_at_us < ?
  AND seq <= (SELECT MIN(seq) FROM journal_pull_marks WHERE table_name = 'link_clicks');

-- name: export_links
-- `sdsync state migrate`: the rows as stored.
SELECT seq, code, campaign_id, variant, recipient, target, created_at_us, expired_at_us FROM journal_links
WHERE seq > ? ORDER BY seq LIMIT ?;

-- name: export_link_clicks
SELECT seq, click_id, code, kind, agent, clicked_at_us FROM journal_link_clicks WHERE seq > ? ORDER BY seq LIMIT ?;
