"""The options of `sdsync status`: where the stores are and what counts as needing attention.

A module of its own so that the status sections and the report that gathers them both depend on it,
not on each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartdialog_sync.state.location import StateLocation

if TYPE_CHECKING:
    from smartdialog_sync.api import ClientSettings


@dataclass
class StatusOptions:
    """Where the stores are and what counts as needing attention."""

    data_dir: Path
    window_calls: int = 100
    window_s: float = 60.0
    limiter_url: str | None = None
    state_url: str | None = None  # the shared state's PostgreSQL; None: local files in the data dir
    connection_key: str | None = None  # the window key of the configured connection, to label it
    journal: str | None = None
    contacts_state: str | None = None
    ledger: str | None = None  # --ledger: a path or URL; default the state's ledger
    backlog_hours: float = 24.0
    campaign_hours: float = 24.0
    now: float = field(default_factory=time.time)

    @property
    def state(self) -> StateLocation:
        """Where the stores are: the data dir's files, or the shared state's PostgreSQL."""
        return StateLocation(self.data_dir, self.state_url)

    @classmethod
    def from_settings(cls, settings: ClientSettings, **options: Any) -> StatusOptions:
        """Options for the configured data dir, rate limit and limiter store (credentials may be missing)."""
        from smartdialog_sync.api.config import check_credentials
        from smartdialog_sync.errors import ConfigurationError

        try:
            connection_key: str | None = check_credentials(settings).connection_key
        except ConfigurationError:  # no credentials: no window is this invocation's
            connection_key = None
        return cls(data_dir=settings.data_dir, window_calls=settings.rate_limit.calls,
                   window_s=settings.rate_limit.seconds, limiter_url=settings.limiter_url, state_url=settings.state_url,
                   connection_key=connection_key, **options)
