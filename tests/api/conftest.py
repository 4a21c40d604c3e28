from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from smartdialog_sync.api import ClientSettings, RetryPolicy, SmartDialogClient
from tests.api.wire_server import WireServer
from tests.postgres import postgres_database

TOKEN = "tok-0123456789-secret"
FAST_RETRY = RetryPolicy(attempts=4, wait_initial=0.05, wait_max=0.2, wait_jitter=0.0, max_retry_after=5)


@pytest.fixture
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


def make_client(server: WireServer, data_dir: Path, **overrides: object) -> SmartDialogClient:
    values = {"base_url": server.base_url, "access_token": TOKEN, "rate_limit": "1000/1", "data_dir": data_dir}
    values.update(overrides)
    return SmartDialogClient(ClientSettings().with_overrides(**values), retry=FAST_RETRY)


@pytest.fixture
def client(wire: WireServer, tmp_path: Path) -> Iterator[SmartDialogClient]:
    with make_client(wire, tmp_path) as api:
        yield api


fresh_state_database = contextmanager(postgres_database)  # a fresh database of the test server, dropped after


@pytest.fixture
def state_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for a shared state (skips when SDSYNC_TEST_POSTGRES_URL is unset)."""
    with fresh_state_database() as url:
        yield url
