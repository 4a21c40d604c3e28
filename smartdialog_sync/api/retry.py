"""The one retry policy of every SmartDialog call.

- 429 is always safe to repeat (nothing was processed); the wait honours Retry-After (seconds or an
  HTTP date), up to `max_retry_after`.
- 500/502/503/504, timeouts and dropped connections are repeated only where repeating is safe: GET,
  PUT, DELETE, and sends that carry a RequestId (the service cancels a duplicate).
- A connection that could not be opened never reached the service: always safe to repeat.
- Everything else is final. Backoff is exponential with jitter, bounded in attempts and in time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Optional

from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from ..errors import SmartDialogError

log = logging.getLogger("smartdialog_sync.retry")

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry loop."""

    attempts: int = 6
    wait_initial: float = 0.5
    wait_max: float = 20.0
    wait_jitter: float = 1.0
    max_retry_after: float = 120.0


class RetryableFailure(Exception):
    """One failed attempt that may be repeated; `final` is raised when the attempts run out."""

    def __init__(self, final: SmartDialogError, retry_after: Optional[float] = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    current = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    return max((moment - current).total_seconds(), 0.0)


def _log_retry(details: RetryDetails) -> None:
    """One readable line per scheduled retry: what failed and how long until the next attempt."""
    log.warning("retry %d in %.1fs: %s", details.retry_num, details.wait_for, details.caused_by)


set_on_retry_hooks([_log_retry])
