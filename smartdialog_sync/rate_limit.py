"""The rate limit of a connection: at most CALLS calls in any window of SECONDS (the client's and the emulator's)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigurationError


@dataclass(frozen=True)
class RateLimit:
    """At most `calls` API calls in any window of `seconds`."""

    calls: int
    seconds: float

    @classmethod
    def parse(cls, text: object) -> "RateLimit":
        """Parse "CALLS/SECONDS", for example "100/60": a whole number of calls >= 1 and a finite window > 0."""
        calls_text, separator, seconds_text = str(text).partition("/")
        try:
            limit = cls(int(calls_text), float(seconds_text))
        except ValueError:
            limit = None
        if not separator or limit is None:
            raise ConfigurationError(f"rate_limit must look like CALLS/SECONDS, e.g. 100/60, not {text!r}")
        if limit.calls < 1 or not math.isfinite(limit.seconds) or limit.seconds <= 0:
            raise ConfigurationError(f"rate_limit needs CALLS >= 1 and a finite window of SECONDS > 0, not {text!r}")
        return limit

    def __str__(self) -> str:
        return f"{self.calls}/{self.seconds:g}"
