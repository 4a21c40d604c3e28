from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from smartdialog_sync.api import ClientSettings, RetryPolicy, SmartDialogClient
from tests.api.wire_server import WireServer

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
