"""Helpers of the campaign tests: CRM files, the sdsync command as a subprocess, ledger reads."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
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


def ledger_rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the ledger file."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()
