"""Campaign throughput: a 100,000-recipient personalised SMS campaign against the emulator.

Starts the emulator with a scaled-down rate limit (default 20 calls per 5 s), runs the real
`sdsync send --yes` with the same client limit, and prints: API calls made beside one call per
recipient, the send phase's duration, limiter utilisation (calls made / calls the limit allowed
between the first and the last call, from the ledger's call times) and the 429s the service answered.

    python -m bench.campaign_throughput [--recipients 100000] [--limit 20/5] [--workers 3] [--batch-size 1000]
        [--max-recipients 1000]   # the service's own per-call maximum: lower it to measure batch splitting
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from smartdialog_sync.api import RateLimit
from smartdialog_sync.state.files import LEDGER_FILE
from tests.campaigns.helpers import make_crm
from tests.support.cli import sdsync_command
from tests.servers import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[1]


def _call_times(ledger: Path, campaign: str) -> list[tuple[float, float]]:
    """(start, confirmed) times of each batch's call, from the ledger (in_flight and sent commits)."""
    connection = sqlite3.connect(ledger)
    rows = connection.execute(
        "SELECT first_attempt_at, updated_at FROM campaign_batches WHERE campaign_id = ? ORDER BY first_attempt_at",
        (campaign,),
    ).fetchall()
    connection.close()
    return [(datetime.fromisoformat(start).timestamp(), datetime.fromisoformat(done).timestamp()) for start, done in rows]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--limit", default="20/5", help="calls/seconds, for the emulator and the client")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--max-recipients", type=int, default=1000, help="the emulator's per-call recipient maximum")
    options = parser.parse_args()
    limit = RateLimit.parse(options.limit)
    with tempfile.TemporaryDirectory(prefix="campaign-bench-") as folder:
        work = Path(folder)
        crm = make_crm(work / "crm.sqlite", options.recipients)
        port = free_port()
        emulator = subprocess.Popen(
            [sys.executable, "-m", "smartdialog_sync.emulator", "--port", str(port), "--rate-limit", options.limit, "--dlr-delay", "3600",
             "--max-recipients", str(options.max_recipients)],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, process=emulator)
            env = {
                "SMARTDIALOG__BASE_URL": f"http://127.0.0.1:{port}/api-integrations/v1",
                "SMARTDIALOG__ACCESS_TOKEN": "sandbox-token",
                "SMARTDIALOG__RATE_LIMIT": options.limit,
                "SMARTDIALOG__DATA_DIR": str(work / "data"),
                "PATH": "/usr/bin:/bin",
            }
            command = sdsync_command(
                "send", "--source", crm, "--query", "SELECT phone, first_name, city FROM customers",
                "--customer", "demo-customer", "--service", "sms-oneway", "--sender", "DemoOy",
                "--content", "Hei {{first_name}}! Tervetuloa uuteen myymäläämme, {{city}}.",
                "--campaign", "bench", "--batch-size", str(options.batch_size), "--workers", str(options.workers), "--yes",
            )
            started = time.monotonic()
            result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            wall = time.monotonic() - started
            if result.returncode != 0:
                raise SystemExit(f"sdsync send failed ({result.returncode}):\n{result.stderr}")
            stats = httpx.get(f"http://127.0.0.1:{port}/_emulator/stats").json()
        finally:
            emulator.terminate()
            emulator.wait()
        times = _call_times(work / "data" / LEDGER_FILE, "bench")
    calls = stats["calls_by_operation"].get("SendMessage", 0)
    span = times[-1][0] - times[0][0]
    call_ms = sum(done - start for start, done in times) / len(times) * 1000
    allowed = limit.calls * (math.floor(span / limit.seconds) + 1)
    print(f"recipients:                 {options.recipients:,}")
    print(f"API calls made:             {calls:,} (one call per recipient would be {options.recipients:,}; "
          f"{options.recipients / max(calls, 1):,.0f}x fewer)")
    print(f"rate limit:                 {limit} (emulator and client), workers {options.workers}")
    print(f"send phase (first→last call): {span:.2f} s; whole command {wall:.1f} s (planning included)")
    print(f"calls the limit allowed:    {allowed} in that span -> limiter utilisation {calls / allowed:.1%}")
    print(f"429 answers:                {stats['rate_limited']}")
    print(f"400 answers (batch too big): {stats['responses_by_status'].get('400', 0)} "
          f"(service maximum {options.max_recipients} recipients per call)")
    print(f"mean call (in flight->sent): {call_ms:.0f} ms; the limit allows one call per "
          f"{limit.seconds / limit.calls * 1000:.0f} ms, so {options.workers} worker(s) keep up while a call takes "
          f"under {options.workers * limit.seconds / limit.calls * 1000:.0f} ms")
    print(f"throughput:                 {options.recipients / max(span, 1e-9):,.0f} recipients/s while sending")


if __name__ == "__main__":
    main()
