"""Campaign ledger speed on both engines: writing the plan of N recipients (default 1,000,000), reading the
unsent batches back (what a resume does), and the two commits around each call (in_flight, sent).

    python -m bench.ledger_write [--recipients 1000000] [--postgres postgresql://...]

PostgreSQL: a fresh database `<database of the URL>_bench_<random>` on the server of --postgres (default
SDSYNC_TEST_POSTGRES_URL), dropped afterwards. SQLite: a file in a temporary folder. Target (issue 19):
the plan of 1,000,000 recipients written to a PostgreSQL ledger within 30 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.scratch_postgres import scratch_database
from smartdialog_sync.destinations.campaigns.request import CampaignSpec, Source
from smartdialog_sync.destinations.campaigns.ledger import Ledger, SentRecipient
from smartdialog_sync.destinations.campaigns.planner import plan_sms
from smartdialog_sync.destinations.campaigns.recipients import Recipient
from smartdialog_sync.state.files import LEDGER_FILE

CONTENT = "Hei {{first_name}}, tervetuloa {{city}}!"
COMMITS = 200  # batches marked in flight and sent, for the per-call cost


def _plan(count: int) -> tuple[CampaignSpec, list]:
    recipients = [Recipient(f"+35840{i:07d}", {"first_name": f"Name{i % 5000}", "city": ("Espoo", "Oulu")[i % 2]})
                  for i in range(count)]
    spec = CampaignSpec("sms", "bench-customer", "sms-oneway", Source("sqlite:///crm.sqlite", "SELECT 1"),
                        {"sender": "Bench", "content": CONTENT}, campaign_id="bench")
    return spec, plan_sms("bench", recipients, CONTENT, 1000, 10)


def _measure(engine: str, target: Path | str, spec: CampaignSpec, batches: list) -> None:
    recipients = sum(len(batch.recipients) for batch in batches)
    ledger = Ledger.open(target)
    started = time.perf_counter()
    ledger.create_campaign(spec.record(), batches, [])
    written = time.perf_counter() - started
    ledger.close()
    started = time.perf_counter()
    reopened = Ledger.open(target)
    unsent = reopened.unsent_batches("bench")
    read = time.perf_counter() - started
    assert sum(len(item.batch.recipients) for item in unsent) == recipients
    started = time.perf_counter()
    for item in unsent[:COMMITS]:
        reopened.mark_in_flight("bench", item.batch.batch_no)
        rows = [SentRecipient(r.address, f"id-{r.address}", r.parts) for r in item.batch.recipients]
        reopened.mark_sent("bench", item.batch, f"m-{item.batch.batch_no}", rows)
    per_call = (time.perf_counter() - started) / min(COMMITS, len(unsent))
    reopened.close()
    print(f"{engine:10s} plan of {recipients:,} recipients in {len(batches):,} batches written in {written:6.2f} s "
          f"({recipients / written:,.0f} recipients/s); read back for a resume in {read:5.2f} s; "
          f"in_flight + sent commits (1,000 sent_messages rows) {per_call * 1000:5.1f} ms per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("SDSYNC_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    started = time.perf_counter()
    spec, batches = _plan(args.recipients)
    print(f"planned {args.recipients:,} recipients in {time.perf_counter() - started:.1f} s (not part of the figures below)")
    with tempfile.TemporaryDirectory() as folder:
        _measure("SQLite", Path(folder) / LEDGER_FILE, spec, batches)
    if args.postgres:
        with scratch_database(args.postgres) as url:
            _measure("PostgreSQL", url, spec, batches)
    else:
        print("PostgreSQL: skipped (give --postgres or set SDSYNC_TEST_POSTGRES_URL)")


if __name__ == "__main__":
    main()
