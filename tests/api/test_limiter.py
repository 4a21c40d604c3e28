"""The sliding window holds across processes (SQLite) and across machines (PostgreSQL): never more
than the limit in any window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartdialog_sync.api import RateLimit, SlidingWindowLimiter
from smartdialog_sync.api.limiter import SQLiteWindowStore, open_store
from smartdialog_sync.state.files import LIMITER_FILE

WORKER = """
import json, sys, time
from pathlib import Path
from smartdialog_sync.api import RateLimit, SlidingWindowLimiter
from smartdialog_sync.api.limiter import open_store
limiter = SlidingWindowLimiter(open_store(sys.argv[3] or Path(sys.argv[1]) / "ratelimit.sqlite"), sys.argv[4], RateLimit(10, 2.0))
stamps = []
for _ in range(int(sys.argv[2])):
    with limiter.slot():
        stamps.append(time.time())
print(json.dumps(stamps))
"""

POSTGRES_URL = os.environ.get("SDSYNC_TEST_POSTGRES_URL")
STORES = [
    pytest.param("", id="sqlite"),
    pytest.param(
        POSTGRES_URL or "", id="postgres",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="SDSYNC_TEST_POSTGRES_URL is not set"),
    ),
]


def max_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t < start + window) for i, start in enumerate(stamps))


@pytest.mark.parametrize("url", STORES)
def test_three_processes_never_exceed_the_window(tmp_path: Path, url: str) -> None:
    key = f"conn-{tmp_path.name}"
    started = time.time()
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), "12", url, key], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    stamps = [t for worker in workers for t in json.loads(worker.communicate(timeout=60)[0])]
    assert len(stamps) == 36
    assert max_in_any_window(stamps, 2.0) == 10  # full use of the window, never more
    assert max(stamps) - started >= 6.0  # 36 calls at 10 per 2 s need three full windows


def test_connections_have_separate_windows(tmp_path: Path) -> None:
    store = open_store(tmp_path / LIMITER_FILE)
    assert isinstance(store, SQLiteWindowStore)
    first = SlidingWindowLimiter(store, "conn-a", RateLimit(2, 60))
    second = SlidingWindowLimiter(store, "conn-b", RateLimit(2, 60))
    assert [s.waited for s in (first.acquire(), first.acquire(), second.acquire(), second.acquire())] == [0.0] * 4
    waits: list[float] = []
    third = SlidingWindowLimiter(store, "conn-a", RateLimit(2, 0.3))  # same connection, short window
    third.acquire(on_wait=lambda seconds, reason: waits.append(seconds))
    assert waits and 0 < waits[0] <= 0.32


def test_a_finished_call_holds_its_slot_from_when_it_finished(tmp_path: Path) -> None:
    limiter = SlidingWindowLimiter(open_store(tmp_path / LIMITER_FILE), "conn-a", RateLimit(1, 0.5))
    with limiter.slot():
        time.sleep(0.4)  # a slow call: the service may have counted it as late as now
    started = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - started >= 0.45  # a full window after the finish, not after the start
