"""A true sliding-window rate limit per connection (bearer token)."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """At most `calls` calls in any window of `seconds` seconds."""

    calls: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> "RateLimit":
        """Parse "N/SECONDS" (e.g. "100/60"); raise ValueError with a clear message otherwise."""
        calls, sep, seconds = str(text).partition("/")
        try:
            limit = cls(int(calls), float(seconds))
        except ValueError:
            raise ValueError(f"rate limit must look like N/SECONDS (e.g. 100/60), got {text!r}") from None
        if not sep or limit.calls < 1 or limit.seconds <= 0:
            raise ValueError(f"rate limit must look like N/SECONDS with N >= 1 and SECONDS > 0, got {text!r}")
        return limit

    def __str__(self) -> str:
        return f"{self.calls}/{self.seconds:g}"


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
