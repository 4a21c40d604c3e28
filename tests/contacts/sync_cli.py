"""Run `sdsync contacts ...` against an emulator (in this process, or as a real process to kill), and read
the state it leaves."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.support.cli import clean_env, invoke_sdsync, run_sdsync, start_sdsync

from .crm import Crm
from .state_db import last_run, query_state

CUSTOMER, GROUP = "demo-customer", "crm-group"
CONTACT_FIELDS = ("phone", "email", "firstName", "lastName", "gender", "birthYear", "countryCode")


class SyncCli:
    """The sync command line of one test: emulator, CRM, data dir and state (a DuckDB file or a PostgreSQL URL)."""

    def __init__(self, emulator: Any, crm: Crm, workdir: Path, rate_limit: str = "100000/60",
                 state: Path | str | None = None, data_dir: Path | None = None) -> None:
        self.emulator = emulator
        self.crm = crm
        self.workdir = workdir
        self.rate_limit = rate_limit
        self.state: Path | str = workdir / "state.duckdb" if state is None else state
        self.data_dir = data_dir or workdir / "data"

    def arguments(self, *args: str, subcommand: str = "sync") -> list[str]:
        """The arguments of `sdsync contacts <subcommand>` with this test's connection and files."""
        root = ["--base-url", self.emulator.base_url, "--rate-limit", self.rate_limit,
                "--data-dir", str(self.data_dir), "contacts", subcommand,
                "--customer", CUSTOMER, "--group-service", GROUP, "--state", str(self.state)]
        if subcommand == "sync":
            root += ["--source", self.crm.url, "--table", self.crm.table, "--key", "id"]
        return root + list(args)

    def start(self, *args: str, subcommand: str = "sync") -> subprocess.Popen[str]:
        """Start `sdsync` as a real process (its output goes to a file in the workdir)."""
        with open(self.workdir / "sdsync.log", "a") as log:
            return start_sdsync(clean_env(), *self.arguments(*args, subcommand=subcommand), cwd=self.workdir,
                                stdout=log, stderr=subprocess.STDOUT)

    def run_process(self, *args: str, subcommand: str = "sync", timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `sdsync` as a real process to its end and return its result."""
        return run_sdsync(clean_env(), *self.arguments(*args, subcommand=subcommand), cwd=self.workdir, timeout=timeout)

    def run(self, *args: str, subcommand: str = "sync", expect: int | None = 0) -> str:
        """Run the command in this process to its end; check its exit code; return its output."""
        result = invoke_sdsync(clean_env(), *self.arguments(*args, subcommand=subcommand))
        if result.exception is not None:
            raise result.exception
        if expect is not None:
            assert result.exit_code == expect, f"exit {result.exit_code}\n{result.output}"
        return result.output

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Read the state database, a DuckDB file or PostgreSQL (after the command ended)."""
        return query_state(self.state, sql, params)

    def last_run(self) -> dict[str, Any]:
        """The newest sync_runs row."""
        return last_run(self.state)

    def group(self) -> dict[str, dict[str, Any]]:
        """The emulator's contacts of the group, by phone, reduced to the fields the CRM sets."""
        return {c["phone"]: {k: c.get(k) for k in CONTACT_FIELDS} for c in self.emulator.contacts(CUSTOMER, GROUP)}


def expected_group(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the group must hold for valid CRM rows written with tests.contacts.crm.contact (E.164 phones)."""
    return {
        row["phone"]: {
            "phone": row["phone"], "email": row["email"], "firstName": row["first_name"], "lastName": row["last_name"],
            "gender": row["gender"], "birthYear": row["birth_year"], "countryCode": row["country_code"],
        }
        for row in rows
    }
