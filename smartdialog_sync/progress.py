"""What a running job tells its caller: one convention for the contact sync, campaigns and the pull.

Each job's progress class derives from `Progress`: every method does nothing here, and a caller overrides
the ones it needs. The console adapters and the one log adapter (which Dagster uses) live in
`pipelines/progress/`.
"""

from __future__ import annotations


class Progress:
    """Callbacks every job makes. Every method does nothing here: override the ones you need."""

    def info(self, text: str) -> None:
        """A line about the run (rows read, what was planned, what was left out)."""

    def waiting(self, seconds: float, reason: str) -> None:
        """The API client waits (rate limit, Retry-After); may be called from worker threads."""
