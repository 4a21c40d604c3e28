"""Counters shown by `GET /_emulator/stats`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Call, throttling, fault and callback counters since start or the last reset."""

    calls_total: int = 0
    calls_by_operation: Counter[str] = field(default_factory=Counter)
    responses_by_status: Counter[str] = field(default_factory=Counter)
    client_disconnects: int = 0
    unauthorized: int = 0
    rate_limited: int = 0
    faults_errors: int = 0
    faults_dropped: int = 0
    callbacks_delivered: int = 0
    callbacks_failed: int = 0
    callbacks_given_up: int = 0
    callbacks_duplicated: int = 0
    callbacks_dropped: int = 0

    def to_json(self, callbacks_pending: int = 0) -> dict[str, Any]:
        """The counters as JSON, with the callbacks queued or under way now."""
        return {
            "calls_total": self.calls_total,
            "calls_by_operation": dict(self.calls_by_operation),
            "responses_by_status": dict(self.responses_by_status),
            "client_disconnects": self.client_disconnects,
            "unauthorized": self.unauthorized,
            "rate_limited": self.rate_limited,
            "faults_injected": {
                "errors": self.faults_errors,
                "dropped": self.faults_dropped,
                "total": self.faults_errors + self.faults_dropped,
            },
            "callbacks": {
                "delivered": self.callbacks_delivered,
                "failed": self.callbacks_failed,
                "given_up": self.callbacks_given_up,
                "duplicated": self.callbacks_duplicated,
                "dropped": self.callbacks_dropped,
                "undelivered": self.callbacks_given_up + self.callbacks_dropped,
                "pending": callbacks_pending,
            },
        }
