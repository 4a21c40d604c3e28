"""Fault injection: error answers before processing, latency, and dropped connections after processing."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from smartdialog_sync.emulator.errors import bad_request


@dataclass
class FaultSettings:
    """What to inject into API calls (never into admin or token calls)."""

    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 503])
    latency_ms: int = 0
    drop_after_processing_rate: float = 0.0
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON."""
        return asdict(self)


def parse_faults(data: Any) -> FaultSettings:
    """Validate a `POST /_emulator/faults` body (missing keys take their defaults)."""
    if not isinstance(data, dict):
        raise bad_request("faults must be a JSON object", "body")
    unknown = set(data) - set(FaultSettings.__dataclass_fields__)
    if unknown:
        raise bad_request(f"unknown fault setting(s): {', '.join(sorted(unknown))}", sorted(unknown)[0])
    settings = FaultSettings(**data)
    for name in ("error_rate", "drop_after_processing_rate"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise bad_request(f"{name} must be a number between 0 and 1", name)
    if not isinstance(settings.error_statuses, list) or not settings.error_statuses or not all(
        isinstance(s, int) and 500 <= s <= 599 for s in settings.error_statuses
    ):
        raise bad_request("error_statuses must be a non-empty list of 5xx status codes", "error_statuses")
    if isinstance(settings.latency_ms, bool) or not isinstance(settings.latency_ms, int) or settings.latency_ms < 0:
        raise bad_request("latency_ms must be a non-negative integer", "latency_ms")
    if settings.seed is not None and (isinstance(settings.seed, bool) or not isinstance(settings.seed, int)):
        raise bad_request("seed must be an integer or null", "seed")
    return settings


class FaultInjector:
    """Decides, call by call, which fault to inject (deterministic for a given seed)."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.configure(settings or FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        """Replace the settings and restart the random sequence from their seed."""
        self.settings = settings
        self._random = random.Random(settings.seed)

    def error_status(self) -> int | None:
        """A 5xx status to answer instead of processing the call, or None."""
        if self.settings.error_rate and self._random.random() < self.settings.error_rate:
            return self._random.choice(self.settings.error_statuses)
        return None

    def drop_after_processing(self) -> bool:
        """Whether to drop the connection instead of sending the (already processed) answer."""
        rate = self.settings.drop_after_processing_rate
        return bool(rate) and self._random.random() < rate
