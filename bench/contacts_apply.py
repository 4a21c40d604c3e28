"""Contact apply throughput: a first sync of N contacts (N creates) against the emulator, in-process.

Starts the emulator with a limit that allows the speed (default 6000/60, the demo's), writes a SQLite CRM
of N valid contacts, runs `run_contact_sync` (the function behind `sdsync contacts sync`) with the same
limit, and prints the apply's ops/s next to the emulator's own create speed. Then it edits 10 % of the
rows and prints the update pass too. Target: >= 200 ops/s at 6000/60 on the project's 2-core machine.

    python bench/contacts_apply.py [--contacts 2000] [--limit 6000/60] [--workers 4] [--profile]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from smartdialog_sync.api import resolve_settings
from smartdialog_sync.destinations.contacts.state import Operation
from smartdialog_sync.destinations.contacts.sync import ContactSyncOptions, SyncProgress, run_contact_sync
from smartdialog_sync.pipelines.servers import free_port, wait_for_port

CUSTOMER, GROUP = "demo-customer", "crm-group"


def write_crm(path: Path, count: int, edited_every: int = 0) -> None:
    """`count` valid contacts in table `contacts`; with `edited_every`, every n-th row has a new last name."""
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE IF EXISTS contacts")
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, phone TEXT, first_name TEXT, last_name TEXT, "
                   "email TEXT, gender TEXT, birth_year TEXT, country_code TEXT)")
        db.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (n, f"040 {n:07d}", f"First{n}", "Edited" if edited_every and n % edited_every == 0 else f"Last{n}",
             f"p{n}@example.com", "mf"[n % 2], str(1940 + n % 60), "FI")
            for n in range(1, count + 1)
        ])


class ApplyClock(SyncProgress):
    """Times the apply phase alone (from the first op to the last)."""

    def __init__(self) -> None:
        self.started = self.ended = 0.0
        self.ops = 0

    def applying(self, total: int) -> None:
        self.started = time.perf_counter()

    def applied(self, op: Operation, result: str) -> None:
        self.ops += 1

    def apply_ended(self) -> None:
        self.ended = time.perf_counter()


def emulator_create_speed(base: str, count: int = 600) -> float:
    """Creates/s the emulator answers to one plain HTTP client (no limiter, no state)."""
    with httpx.Client(base_url=base + "/api-integrations/v1", headers={"Authorization": "Bearer sandbox-token"}) as http:
        started = time.perf_counter()
        for n in range(count):
            http.post(f"/groupcontact/{CUSTOMER}/{GROUP}", json={"phone": f"+35850{n:07d}"}).raise_for_status()
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--limit", default="6000/60", help="calls/seconds, for the emulator and the client")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--profile", action="store_true", help="profile the first sync with pyinstrument")
    args = parser.parse_args()

    port = free_port()
    root = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        emulator = subprocess.Popen(
            [sys.executable, "-m", "smartdialog_sync.emulator", "--port", str(port), "--rate-limit", args.limit],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, process=emulator)
            alone = emulator_create_speed(root)
            httpx.post(root + "/_emulator/reset").raise_for_status()
            crm = Path(folder) / "crm.sqlite"
            settings = resolve_settings(base_url=root + "/api-integrations/v1", rate_limit=args.limit,
                                        data_dir=str(Path(folder) / "data"))
            options = ContactSyncOptions(source=f"sqlite:///{crm}", table="contacts", customer=CUSTOMER,
                                         group_service=GROUP, key="id", workers=args.workers)
            passes = []
            for label, edited_every in (("first sync (creates)", 0), ("10 % edited (updates)", 10)):
                write_crm(crm, args.contacts, edited_every)
                clock = ApplyClock()
                started = time.perf_counter()
                if args.profile and not edited_every:
                    from pyinstrument import Profiler

                    with Profiler() as profiler:
                        result = run_contact_sync(settings, options, clock)
                    profiler.print(show_all=False)
                else:
                    result = run_contact_sync(settings, options, clock)
                total = time.perf_counter() - started
                assert result.status == "completed", result.record
                passes.append((label, clock.ops, clock.ended - clock.started, total, result.record["calls"]))
            stored = len(httpx.get(root + "/_emulator/contacts", params={"customer": CUSTOMER, "group_service": GROUP}).json())
        finally:
            emulator.terminate()
            emulator.wait()

    print(f"emulator alone, one plain client: {alone:,.0f} creates/s")
    print(f"limit {args.limit} (emulator and client), {args.workers} workers, {args.contacts:,} contacts")
    for label, ops, apply_s, total_s, calls in passes:
        print(f"  {label:<24} {ops:6,} ops in {apply_s:6.2f} s = {ops / apply_s:6.0f} ops/s "
              f"(whole run {total_s:.2f} s, {calls:,} calls)")
    assert stored == args.contacts, stored
    print(f"group holds {stored:,} contacts (target: >= 200 ops/s)")


if __name__ == "__main__":
    main()
