"""`sdsync state migrate` as a library function: copy the local stores of a data dir into a shared PostgreSQL.

Each store copies itself (its module owns its schema): the campaign ledger, the reply record, the contact-sync state,
the OAuth tokens, the receiver's journal and the open alert incidents. A store whose local file does not exist is
skipped. The copy is
idempotent, and a store whose target holds different data under the same key is refused (StateConflict,
exit 2) with nothing of that store written; stores copied before it stay copied, and a rerun skips them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from smartdialog_sync.errors import UsageError
from smartdialog_sync.state import files
from smartdialog_sync.state.location import is_postgres_url, postgres_url
from smartdialog_sync.state.migration import StoreMigration


@dataclass(frozen=True)
class LocalStore:
    """A local store that can be migrated: its name, its file in the data dir and the function copying it."""

    name: str
    file_name: str
    copy: Callable[[Path, str], StoreMigration]


def local_stores() -> list[LocalStore]:
    """Every store that has a local file, in the order they are copied."""
    from smartdialog_sync.destinations.campaigns.ledger import migrate_ledger
    from smartdialog_sync.destinations.campaigns.replies import migrate_replies
    from smartdialog_sync.destinations.contacts.state import migrate_contact_state
    from smartdialog_sync.pipelines.alerts.store import migrate_alerts

    from smartdialog_sync.api.token_store import migrate_tokens
    from smartdialog_sync.journal import migrate_journal

    return [
        LocalStore("ledger", files.LEDGER_FILE, migrate_ledger),
        LocalStore("reply record", files.REPLIES_FILE, migrate_replies),
        LocalStore("contact state", files.CONTACT_STATE_FILE, migrate_contact_state),
        LocalStore("tokens", files.TOKENS_FILE, migrate_tokens),
        LocalStore("journal", files.JOURNAL_FILE, migrate_journal),
        LocalStore("alert incidents", files.ALERTS_FILE, migrate_alerts),
    ]


def migrate_state(data_dir: Path, target_url: str,
                  on_store: Callable[[StoreMigration], None] | None = None) -> list[StoreMigration]:
    """Copy every local store of `data_dir` into the PostgreSQL at `target_url`; report each store copied."""
    if not is_postgres_url(target_url):
        raise UsageError("--to must be a postgresql:// URL")
    done = []
    for store in local_stores():
        source = data_dir / store.file_name
        if not source.exists():
            continue
        result = store.copy(source, postgres_url(target_url))
        done.append(result)
        if on_store is not None:
            on_store(result)
    return done
