"""What `sdsync state migrate` reports and refuses: shared by every store's copy into PostgreSQL.

Each store module has a `migrate_*(source, target_url) -> StoreMigration` that copies its local file into
the shared database idempotently: rows already there with equal values are skipped, and a row whose key
is there with different values stops the copy with `StateConflict` before anything of that store is
written (one transaction per store).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smartdialog_sync.errors import UsageError


class StateConflict(UsageError):
    """The target already holds different data under the same key: nothing of that store was copied."""


@dataclass(frozen=True)
class StoreMigration:
    """One store's copy: rows copied and rows already there, per table."""

    store: str
    source: str
    copied: dict[str, int] = field(default_factory=dict)
    already_there: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: `ledger (data/campaigns.sqlite): campaigns 2 copied, 0 already there; ...`."""
        tables = sorted(set(self.copied) | set(self.already_there))
        figures = "; ".join(f"{t} {self.copied.get(t, 0)} copied, {self.already_there.get(t, 0)} already there"
                            for t in tables) or "nothing to copy"
        return f"{self.store} ({self.source}): {figures}"
