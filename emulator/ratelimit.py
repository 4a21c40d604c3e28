"""A true sliding-window rate limit per connection (bearer token); the limit is the client's RateLimit."""

from __future__ import annotations

import math
import time
from collections import deque

from smartdialog_sync.rate_limit import RateLimit


class SlidingWindowLimiter:
    """Admits a call when fewer than `calls` admitted calls happened in the last `seconds` (per key).

    Rejected calls are not recorded, so they do not extend the wait.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._calls: dict[str, deque[float]] = {}

    def configure(self, limit: RateLimit) -> None:
        """Change the limit, keeping the recorded calls."""
        self.limit = limit

    def clear(self) -> None:
        """Forget every recorded call."""
        self._calls.clear()

    def acquire(self, key: str) -> int | None:
        """Record a call for `key` and return None, or return the Retry-After seconds (rounded up) when full."""
        now = time.monotonic()
        window = self._calls.setdefault(key, deque())
        while window and window[0] <= now - self.limit.seconds:
            window.popleft()
        if len(window) >= self.limit.calls:
            wait = window[len(window) - self.limit.calls] + self.limit.seconds - now
            return max(1, math.ceil(wait))
        window.append(now)
        return None
