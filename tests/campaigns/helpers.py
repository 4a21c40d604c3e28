"""Helpers of the campaign tests: CRM files, the sdsync command as a subprocess, ledger reads."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence


from tests.conftest import REPO_ROOT

SEND = ["send", "--customer", "demo-customer", "--service", "sms-oneway", "--sender", "DemoOy"]


def phone(i: int) -> str:
    """A valid Finnish mobile number, distinct for each i < 100000."""
    return f"+3584010{i:05d}"


def make_crm(path: Path, count: int, extra: Iterable[Sequence[Any]] = ()) -> str:
    """A SQLite CRM with `count` customers (id, phone, first_name, city, region) plus `extra` rows."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE customers (id INTEGER, phone TEXT, first_name TEXT, city TEXT, region TEXT)")
    rows = [(i, phone(i), f"Name{i}", ("Helsinki", "Espoo", "Tampere")[i % 3], "FI") for i in range(count)]
    connection.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", [*rows, *extra])
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def sdsync_env(emulator: Any, data_dir: Path, rate_limit: str = "100000/60") -> dict[str, str]:
    """The environment pointing sdsync at an emulator, with its own data dir and client rate limit."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SMARTDIALOG__", "CAMPAIGNS__"))}
    env.update({
        "SMARTDIALOG__BASE_URL": emulator.base_url,
        "SMARTDIALOG__ACCESS_TOKEN": emulator.token,
        "SMARTDIALOG__RATE_LIMIT": rate_limit,
        "SMARTDIALOG__DATA_DIR": str(data_dir),
        "COLUMNS": "200",
    })
    return env


def sdsync_command(*args: str) -> list[str]:
    """The sdsync command line (through the interpreter of this test run)."""
    return [sys.executable, "-c", "from smartdialog_sync.pipelines.cli import main; main()", *args]


def run_sdsync(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run sdsync to completion and return its result (stdout, stderr, returncode)."""
    return subprocess.run(
        sdsync_command(*args), cwd=REPO_ROOT, env=env, input=stdin, capture_output=True, text=True,
        timeout=timeout, stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def ledger_rows(ledger: Path | str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query (`?` parameters) on a ledger: a SQLite file, or a postgresql:// URL."""
    if isinstance(ledger, Path):
        connection = sqlite3.connect(ledger)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(ledger.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        return [tuple(row) for row in connection.execute(sql.replace("?", "%s"), params).fetchall()]


def sent_batches(ledger: Path | str, campaign: str) -> int:
    """Batches of `campaign` confirmed sent in the ledger (0 before it exists)."""
    if isinstance(ledger, Path) and not ledger.exists():
        return 0
    try:
        return ledger_rows(ledger, "SELECT count(*) FROM campaign_batches WHERE campaign_id = ? AND status = 'sent'", campaign)[0][0]
    except Exception as exc:  # tables not created yet (sqlite3.OperationalError, psycopg.errors.UndefinedTable)
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return 0
        raise


def run_until_killed(args: list[str], env: dict[str, str], ledger: Path | str, campaign: str, kill_after_sent: int | None,
                     kill_after_s: float | None) -> int | None:
    """Run sdsync; SIGKILL it once `kill_after_sent` batches are sent or `kill_after_s` passed. None if killed."""
    process = subprocess.Popen(sdsync_command(*args), cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while process.poll() is None and time.monotonic() - started < 120:
        reached = kill_after_sent is not None and sent_batches(ledger, campaign) >= kill_after_sent
        if reached or (kill_after_s is not None and time.monotonic() - started >= kill_after_s):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return None
        time.sleep(0.01)
    if process.poll() is None:
        process.kill()
        raise AssertionError("sdsync send did not finish within 120 s")
    return process.returncode
