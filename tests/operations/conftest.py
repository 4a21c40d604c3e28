"""Fixtures of the status/doctor tests: the receiver harness (sdsync runs as a process through tests/support/cli.py's `Sdsync`)."""

from __future__ import annotations

from tests.receiver.harness import postgres_url, receiver_factory  # noqa: F401
