-- The open alert incidents (smartdialog_sync/alerts/store.py owns this table), in a SQLite file in the data
-- dir or in the shared state's PostgreSQL: the same statements run on both (parameters are :named, SQLAlchemy).
-- One row per open incident (kind + subject); a row's *_at_us says when that channel took its alert.
-- A resolved incident's row is deleted, so it alerts again when it recurs.

-- name: schema
CREATE TABLE IF NOT EXISTS alert_incidents (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    opened_at_us BIGINT NOT NULL,
    webhook_at_us BIGINT,
    email_at_us BIGINT,
    PRIMARY KEY (kind, subject)
);

-- name: open
INSERT INTO alert_incidents (kind, subject, message, opened_at_us) VALUES (:kind, :subject, :message, :now)
ON CONFLICT (kind, subject) DO NOTHING;

-- name: list_open
SELECT kind, subject, message, webhook_at_us, email_at_us FROM alert_incidents ORDER BY opened_at_us, kind, subject;

-- name: resolve
DELETE FROM alert_incidents WHERE kind = :kind AND subject = :subject;

-- name: delivered_webhook
UPDATE alert_incidents SET webhook_at_us = :now WHERE kind = :kind AND subject = :subject;

-- name: delivered_email
UPDATE alert_incidents SET email_at_us = :now WHERE kind = :kind AND subject = :subject;

-- name: list_rows
SELECT kind, subject, message, opened_at_us, webhook_at_us, email_at_us FROM alert_incidents ORDER BY kind, subject;

-- name: copy
-- `sdsync state migrate`: an open incident of the data dir, unless the shared state has it open already.
INSERT INTO alert_incidents (kind, subject, message, opened_at_us, webhook_at_us, email_at_us)
VALUES (:kind, :subject, :message, :opened_at_us, :webhook_at_us, :email_at_us)
ON CONFLICT (kind, subject) DO NOTHING;
