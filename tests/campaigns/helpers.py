"""Helpers of the campaign tests: CRM files, ledger reads, a send killed mid-way (sdsync runs through tests/support/cli.py)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from tests.support.cli import run_sdsync, start_sdsync
from tests.support.waiting import wait_until

SEND = ["send", "--customer", "demo-customer", "--service", "sms-oneway", "--sender", "DemoOy"]
OPT_OUT_QUERY = "SELECT phone FROM customers ORDER BY id"


def phone(i: int) -> str:
    """A valid Finnish mobile number, distinct for each i < 100000."""
    return f"+3584010{i:05d}"


STOPPED = phone(5)  # the number whose STOP the opt-out tests deliver


def make_crm(path: Path, count: int, extra: Iterable[Sequence[Any]] = ()) -> str:
    """A SQLite CRM with `count` customers (id, phone, first_name, city, region) plus `extra` rows."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE customers (id INTEGER, phone TEXT, first_name TEXT, city TEXT, region TEXT)")
    rows = [(i, phone(i), f"Name{i}", ("Helsinki", "Espoo", "Tampere")[i % 3], "FI") for i in range(count)]
    connection.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", [*rows, *extra])
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


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
    process = start_sdsync(env, *args)
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


def rerun_until_done(env: dict[str, str], args: list[str], attempts: int) -> subprocess.CompletedProcess[str]:
    """Run sdsync ARGS again until it succeeds, at most `attempts` times; each failure must ask for a rerun."""
    for _ in range(attempts):
        result = run_sdsync(env, *args)
        if result.returncode == 0:
            return result
        assert result.returncode == 1 and "Run the same command again" in result.stderr, result.stderr
    raise AssertionError(f"sdsync failed {attempts} times: {result.stderr}")


def deliver_stop(emulator: Any, receiver_factory: Any, stop: str, data_dir: Path, journal: str | None,
                 **env: str) -> Any:
    """A real receiver (journal `journal`, else its data dir's) that the emulator delivered `stop` from
    STOPPED and a hello from phone(6) to; both acknowledged."""
    receiver = receiver_factory(journal, data_dir=data_dir, extra_args=["--customer", "demo-customer", "--service", "sms-twoway"],
                                env={"SMARTDIALOG__BASE_URL": emulator.base_url, **env})
    receiver.extra_args += ["--public-url", receiver.root_url]
    receiver.start()
    assert len(emulator.webhooks()) == 1, receiver.output()
    assert emulator.inbound("sms-twoway", STOPPED, stop)["webhooks"] == 1
    assert emulator.inbound("sms-twoway", phone(6), "hello")["webhooks"] == 1
    wait_until(lambda: emulator.stats()["callbacks"]["delivered"] >= 2, "both webhooks delivered")
    assert emulator.stats()["callbacks"]["delivered"] == 2, emulator.callbacks()
    return receiver


def send_hello(env: dict[str, str], crm: str, campaign: str, *more: str) -> subprocess.CompletedProcess[str]:
    """`sdsync send` of "Hello" to OPT_OUT_QUERY's customers as `campaign`, confirmed."""
    return run_sdsync(env, *SEND, "--source", crm, "--query", OPT_OUT_QUERY, "--content", "Hello", "--campaign", campaign,
                      "--yes", *more)
