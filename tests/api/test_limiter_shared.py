"""One rate-limit window per connection whatever the data dir: two processes on two data dirs hammering one
connection of a real emulator get no 429, with the window in this user's cache dir (no limiter_url) or in the
shared state's PostgreSQL (state_url)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy

from smartdialog_sync.api import ClientSettings
from smartdialog_sync.pipelines.operations.options import StatusOptions
from smartdialog_sync.pipelines.operations.status import collect_status
from smartdialog_sync.state.files import LIMITER_FILE
from smartdialog_sync.state.location import user_cache_dir
from tests.support.processes import json_reports

CALLS = 41  # per process: 82 calls at 20 per 2 s take four windows
RATE = "20/2"

WORKER = """
import json, sys
from smartdialog_sync.api import ClientSettings, RetryPolicy, SmartDialogClient
base_url, data_dir, state_url, calls = sys.argv[1], sys.argv[2], sys.argv[3] or None, int(sys.argv[4])
settings = ClientSettings().with_overrides(base_url=base_url, access_token="sandbox-token", rate_limit="%s",
                                           data_dir=data_dir, state_url=state_url)
with SmartDialogClient(settings, retry=RetryPolicy(attempts=10, wait_initial=0.05, wait_max=2)) as api:
    for _ in range(calls):
        api.get_phone_number_regions()
    print(json.dumps({"throttled": api.stats.throttled}))
""" % RATE


def key_of(emulator) -> str:
    """The window key of the emulator's sandbox-token connection."""
    return ClientSettings().with_overrides(base_url=emulator.base_url, access_token="sandbox-token").connection_key


def hammer(emulator, tmp_path: Path, state_url: str = "") -> list[dict]:
    """Two processes, each on a data dir of its own, making CALLS calls in a tight loop on one connection."""
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, emulator.base_url, str(tmp_path / f"data-{me}"),
                                 state_url, str(CALLS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for me in range(2)]
    return json_reports(workers)


def test_two_data_dirs_share_one_window_per_connection(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit=RATE)
    reports = hammer(emulator, tmp_path)
    stats = emulator.stats()
    assert stats["rate_limited"] == 0, f"{stats['rate_limited']} answers of 429 in {stats['calls_total']} calls"
    assert stats["calls_by_operation"]["GetPhoneNumberRegions"] == 2 * CALLS
    assert [report["throttled"] for report in reports] == [0, 0]
    assert (user_cache_dir() / LIMITER_FILE).exists()
    assert not any((tmp_path / f"data-{me}" / LIMITER_FILE).exists() for me in range(2))
    limiter = collect_status(StatusOptions(tmp_path / "data-0", window_s=2, connection_key=key_of(emulator)))["limiter"]
    assert limiter["location"] == str(user_cache_dir() / LIMITER_FILE)
    assert [window["this_connection"] for window in limiter["connections"]] == [True]


def test_status_reads_a_missing_window_without_creating_it(tmp_path: Path) -> None:
    limiter = collect_status(StatusOptions(tmp_path / "data"))["limiter"]
    assert limiter == {"present": False, "location": str(user_cache_dir() / LIMITER_FILE)}
    assert not user_cache_dir().exists()


def test_with_a_shared_state_the_window_is_in_postgres(start_emulator, tmp_path: Path, state_url: str) -> None:
    emulator = start_emulator(rate_limit=RATE)
    reports = hammer(emulator, tmp_path, state_url)
    stats = emulator.stats()
    assert stats["rate_limited"] == 0, f"{stats['rate_limited']} answers of 429 in {stats['calls_total']} calls"
    assert stats["calls_by_operation"]["GetPhoneNumberRegions"] == 2 * CALLS
    assert [report["throttled"] for report in reports] == [0, 0]
    assert not (user_cache_dir() / LIMITER_FILE).exists(), "no local window when the state is shared"
    key = key_of(emulator)
    engine = sqlalchemy.create_engine(state_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as db:
            keys = db.execute(sqlalchemy.text("SELECT DISTINCT connection FROM sdsync_api_calls")).scalars().all()
    finally:
        engine.dispose()
    assert keys == [key]
    limiter = collect_status(StatusOptions(tmp_path / "data-0", state_url=state_url, connection_key=key))["limiter"]
    assert limiter["present"] and limiter["location"] == sqlalchemy.make_url(state_url).render_as_string()
    assert [window["connection"] for window in limiter["connections"]] == [key]
