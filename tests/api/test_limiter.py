"""The sliding window holds across processes: never more than the limit in any window."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sources.smartdialog.api import RateLimit, SlidingWindowLimiter

WORKER = """
import json, sys, time
from pathlib import Path
from sources.smartdialog.api import RateLimit, SlidingWindowLimiter
limiter = SlidingWindowLimiter(Path(sys.argv[1]), "conn-a", RateLimit(10, 2.0))
stamps = []
for _ in range(int(sys.argv[2])):
    with limiter.slot():
        stamps.append(time.time())
print(json.dumps(stamps))
"""


def max_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps[i:] if t < start + window) for i, start in enumerate(stamps))


def test_three_processes_never_exceed_the_window(tmp_path: Path) -> None:
    db = tmp_path / "ratelimit.sqlite"
    started = time.time()
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(db), "12"], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    stamps = [t for worker in workers for t in json.loads(worker.communicate(timeout=60)[0])]
    assert len(stamps) == 36
    assert max_in_any_window(stamps, 2.0) == 10  # full use of the window, never more
    assert max(stamps) - started >= 6.0  # 36 calls at 10 per 2 s need three full windows


def test_connections_have_separate_windows(tmp_path: Path) -> None:
    db = tmp_path / "ratelimit.sqlite"
    first = SlidingWindowLimiter(db, "conn-a", RateLimit(2, 60))
    second = SlidingWindowLimiter(db, "conn-b", RateLimit(2, 60))
    assert [s.waited for s in (first.acquire(), first.acquire(), second.acquire(), second.acquire())] == [0.0] * 4
    waits: list[float] = []
    third = SlidingWindowLimiter(db, "conn-a", RateLimit(2, 0.3))  # same connection, short window
    third.acquire(on_wait=lambda seconds, reason: waits.append(seconds))
    assert waits and 0 < waits[0] <= 0.31
