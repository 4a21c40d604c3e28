"""Frequency-cap counting on both ledger engines: how long planning spends finding the capped addresses
(`Ledger.capped_addresses`) when the ledger holds N confirmed sends (default 1,000,000: ten marketing
campaigns of 100,000 recipients each, plus one transactional campaign that is not counted).

    python -m bench.frequency_cap [--sent 1000000] [--postgres postgresql://...]

PostgreSQL: a fresh database on the server of --postgres (default SDSYNC_TEST_POSTGRES_URL), dropped after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.scratch_postgres import scratch_database
from smartdialog_sync.destinations.campaigns.request import CampaignSpec, Source
from smartdialog_sync.destinations.campaigns.frequency import TRANSACTIONAL, Audience, FrequencyCap
from smartdialog_sync.destinations.campaigns.ledger import Ledger, SentRecipient
from smartdialog_sync.destinations.campaigns.planner import plan_sms
from smartdialog_sync.destinations.campaigns.recipients import Recipient

CAMPAIGNS = 10


def _fill(target: Path | str, sent: int) -> None:
    per_campaign = sent // CAMPAIGNS
    ledger = Ledger.open(target)
    for number in range(CAMPAIGNS + 1):
        campaign = f"bench-{number}"
        audience = Audience(TRANSACTIONAL) if number == CAMPAIGNS else Audience()
        offset = number * per_campaign // 2  # campaigns overlap by half: many addresses get two or more
        recipients = [Recipient(f"+35840{(offset + i) % 9_999_999:07d}", {}) for i in range(per_campaign)]
        spec = CampaignSpec("sms", "bench-customer", "sms-oneway", Source("sqlite:///crm.sqlite", "SELECT 1"),
                            {"sender": "Bench", "content": "Hi"}, campaign_id=campaign, audience=audience)
        batches = plan_sms(campaign, recipients, "Hi", 1000, 10)
        ledger.create_campaign(spec.record(), batches, [])
        for batch in batches:
            ledger.mark_sent(campaign, batch, f"m-{batch.batch_no}",
                             [SentRecipient(r.address, None, r.parts) for r in batch.recipients])
    ledger.close()


def _measure(engine: str, target: Path | str, sent: int) -> None:
    _fill(target, sent)
    ledger = Ledger.open(target)
    for cap in ("2/7d", "5/30d"):
        started = time.perf_counter()
        capped = ledger.capped_addresses("bench-customer", FrequencyCap.parse(cap))  # type: ignore[arg-type]
        took = time.perf_counter() - started
        print(f"{engine:10s} {sent:,} confirmed sends: cap {cap} finds {len(capped):,} capped addresses in {took:6.2f} s")
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sent", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("SDSYNC_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _measure("sqlite", Path(folder) / "campaigns.sqlite", args.sent)
    if args.postgres:
        with scratch_database(args.postgres) as url:
            _measure("postgres", url, args.sent)


if __name__ == "__main__":
    main()
