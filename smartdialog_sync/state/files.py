"""Every local file name of the project's stores: the one place they are named.

Each name is relative to the data dir, except the limiter's window, which lives in the user's cache dir
(one window per connection for every data dir of one user on one machine).
"""

from __future__ import annotations

LEDGER_FILE = "campaigns.sqlite"  # the campaign ledger (SQLite)
REPLIES_FILE = "replies.sqlite"  # the record of replies sent by `sdsync reply` (SQLite)
CONTACT_STATE_FILE = "contacts_state.duckdb"  # the contact-sync state (DuckDB)
JOURNAL_FILE = "journal.sqlite"  # the receiver's journal (SQLite)
TOKENS_FILE = "oauth_tokens.json"  # OAuth2 tokens per connection (0600 JSON)
DATASET_FILE = "sdsync.duckdb"  # the pull's default DuckDB destination (not smartdialog.duckdb: DuckDB
# finds a catalog named like the dataset ambiguous)
PIPELINES_DIR = "pipelines"  # dlt's working folders of the pull pipelines
PULL_PIPELINE_PREFIX = "smartdialog_pull"  # each pull pipeline is named smartdialog_pull_<destination>_<dataset>_<digest>
LAST_PULL_FILE = "last_pull.json"  # in PIPELINES_DIR: where the last pull loaded (no password), the report's default
LIMITER_FILE = "ratelimit.sqlite"  # the limiter's window, in the user's cache dir
RECEIVER_SECRET_FILE = "receiver_secret"  # the webhook URLs' secret, when the journal is not shared (0600)
LINK_SECRET_FILE = "link_secret"  # the HMAC key of tracked-link codes, when the journal is not shared (0600)
RUNNER_LOCKS_DIR = "locks"  # one lock file per campaign or contact group being run
SYNC_RUNS_FILE = "sync_runs.sqlite"  # the runs of declared syncs (SQLite)
ALERTS_FILE = "alerts.sqlite"  # the open alert incidents, so each alerts once (SQLite)
