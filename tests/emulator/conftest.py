"""Fixtures of the emulator tests (the emulator itself: `emulator` and `start_emulator` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import EmulatorHandle


@pytest.fixture
def api(emulator: EmulatorHandle) -> Iterator[httpx.Client]:
    """An httpx client on the shared emulator's API base URL with its bearer token."""
    with emulator.api() as client:
        yield client
