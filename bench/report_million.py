"""The analytics on a 1M-message dataset: `sdsync report` on DuckDB and on PostgreSQL, `dbt build` on each.

Builds a campaign ledger with N recipients sent to (default 1,000,000: 20 campaigns of 1,000-recipient
batches, one send each), a journal with a delivery report for 97 % of them (93 % Delivered, 4 % Failed) and
inbound replies from 5 % (one in ten a STOP), pulls journal and ledger into DuckDB and into PostgreSQL
(the pull's pipeline and source; files as parquet for DuckDB and csv for PostgreSQL), then times the report job (every section, JSON) and `dbt build` of
transformations/dbt_smartdialog on each. Needs the [dbt] extra and a PostgreSQL URL.

    python -m bench.report_million --postgres postgresql://postgres@127.0.0.1:5432/bench [--messages 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from urllib.parse import parse_qsl, urlencode

from smartdialog_sync.api import ClientSettings, resolve_settings
from smartdialog_sync.destinations.campaigns.ledger import CampaignRecord, Ledger, SentRecipient
from smartdialog_sync.destinations.campaigns.batches import Batch, PlannedRecipient
from smartdialog_sync.journal import open_journal
from smartdialog_sync.pipelines.pull_pipeline import DUCKDB_FILE_NAME, PullOptions, make_pipeline, make_source
from smartdialog_sync.pipelines.reporting import build_report
from smartdialog_sync.receiver.payloads import dlr_row, inbound_row

CAMPAIGNS, BATCH = 20, 1000
BASE = 1_795_000_000  # seconds: late November 2026
PACKAGE = Path(__file__).resolve().parents[1] / "transformations" / "dbt_smartdialog"


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".000Z"


def fill(work: Path, messages: int) -> None:
    """The ledger (campaigns, batches, sent recipients) and the journal (reports, replies)."""
    ledger = Ledger.open(work / "campaigns.sqlite")
    journal = open_journal(str(work / "journal.sqlite"))
    per_campaign = messages // CAMPAIGNS
    try:
        for c in range(CAMPAIGNS):
            campaign = f"bench-{c:02d}"
            batches = [Batch(b + 1, f"{campaign}-{b + 1}", tuple(PlannedRecipient(f"+3584{(c * per_campaign + b * BATCH + i):08d}", {}, 1)
                                                              for i in range(min(BATCH, per_campaign - b * BATCH))))
                       for b in range((per_campaign + BATCH - 1) // BATCH)]
            record = CampaignRecord(campaign, "sms", "fingerprint", "demo-customer", "sms-twoway",
                                    {"sender": "Bench", "content": f"Offer {c}"}, {}, iso(BASE + c * 86400))
            ledger.create_campaign(record, batches, [])
            for batch in batches:
                message_id = f"msg-{campaign}-{batch.batch_no}"
                sent = [SentRecipient(r.address, f"{message_id}-r{i}", 1) for i, r in enumerate(batch.recipients)]
                ledger.mark_sent(campaign, batch, message_id, sent)
                reports, replies = [], []
                for i, recipient in enumerate(sent):
                    n = int(recipient.address[-8:])
                    if n % 100 < 97:
                        status = "Failed" if n % 100 >= 93 else "Delivered"
                        params = {"messageId": message_id, "recipientId": recipient.recipient_id, "address": recipient.address,
                                  "status": status, "statusTime": iso(BASE + c * 86400 + 60 + n % 3600)}
                        if status == "Failed":
                            params["errorCode"] = "UNDELIVERABLE"
                        reports.append(dlr_row(parse_qsl(urlencode(params))))
                    if n % 20 == 0:
                        body = {"sender": recipient.address, "recipient": "+358401000001",
                                "content": "STOP" if n % 200 == 0 else "Thanks!", "timestamp": iso(time.time() + 60),
                                "protocol": "SMS", "attachments": [], "messageId": f"in-{n}"}
                        replies.append(inbound_row(json.dumps(body).encode()))
                journal.write_batch(replies, reports)
    finally:
        ledger.close()
        journal.close()


def pull(options: PullOptions, settings: ClientSettings, file_format: str) -> None:
    """The pull's pipeline and source, loaded through `file_format` files: the ledger's sent_messages are
    dict rows, which `sdsync pull` loads as INSERT statements (over 25 minutes for 1M rows into DuckDB here)."""
    pipeline = make_pipeline(options, settings.data_dir)
    pipeline.extract(make_source(options, settings), loader_file_format=file_format)
    pipeline.normalize()
    pipeline.load().raise_on_failed_jobs()


def timed(what: str, action) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{what}: {elapsed:.1f} s", flush=True)
    return elapsed


def dbt_build(work: Path, name: str, output: dict) -> None:
    project = work / f"dbt-{name}"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(PACKAGE, project)
    profiles = {"smartdialog": {"target": "bench", "outputs": {"bench": {**output, "schema": "analytics", "threads": 2}}}}
    (project / "profiles.yml").write_text(json.dumps(profiles))
    result = subprocess.run([str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(project),
                             "--profiles-dir", str(project)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"dbt build on {name} failed:\n{result.stdout[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--postgres", required=True, help="an empty PostgreSQL database (URL)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sdsync-report-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; {args.messages:,} recipients sent to", flush=True)
    timed("ledger and journal written", lambda: fill(work, args.messages))
    settings = resolve_settings(data_dir=str(work), base_url="http://127.0.0.1:9/api-integrations/v1")
    resources = ["inbound_messages", "delivery_reports", "sent_messages", "campaigns"]
    common = {"resources": resources, "journal_url": str(work / "journal.sqlite"),
              "source_options": {"ledger_path": str(work / "campaigns.sqlite")}}
    duckdb_file = str(work / DUCKDB_FILE_NAME)
    timed("pull into DuckDB", lambda: pull(PullOptions(credentials=duckdb_file, **common), settings, "parquet"))
    timed("pull into PostgreSQL", lambda: pull(PullOptions(destination="postgres", credentials=args.postgres, **common),
                                               settings, "csv"))
    quiet = Console(file=io.StringIO())
    keywords = ("STOP", "STOPP", "SLUTA", "LOPETA")
    timed("report on DuckDB", lambda: build_report(work, "duckdb", duckdb_file, None, keywords, quiet, as_json=True))
    timed("report on PostgreSQL", lambda: build_report(work, "postgres", args.postgres, None, keywords, quiet, as_json=True))
    timed("dbt build on DuckDB", lambda: dbt_build(work, "duckdb", {"type": "duckdb", "path": duckdb_file}))
    from sqlalchemy import make_url

    url = make_url(args.postgres)
    timed("dbt build on PostgreSQL", lambda: dbt_build(work, "postgres", {
        "type": "postgres", "host": url.host, "port": url.port or 5432, "user": url.username,
        "password": url.password or "", "dbname": url.database}))
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
