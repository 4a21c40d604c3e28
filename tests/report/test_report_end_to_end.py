"""The whole flow on real servers: send through the emulator, receive reports and replies, pull, report."""

from __future__ import annotations

import time
from pathlib import Path

from tests.campaigns.helpers import make_crm, phone
from tests.support.cli import emulator_env, run_sdsync
from tests.support.waiting import wait_until

from .output import console_rows, run_report

RECIPIENTS = 6


def delivered_callbacks(emulator, kind: str) -> int:
    return sum(1 for entry in emulator.callbacks() if entry["kind"] == kind and entry["outcome"] == "delivered")


def test_report_after_a_real_campaign_replies_and_pull(emulator, receiver_factory, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = emulator_env(emulator, data_dir)
    emulator.configure(dlr_delivered_ratio=0.5, dlr_failed_ratio=0.5, dlr_expired_ratio=0, dlr_seed=7)
    receiver = receiver_factory(data_dir=data_dir, env=env)
    receiver.extra_args = ["--public-url", receiver.root_url, "--customer", "demo-customer", "--service", "sms-twoway"]
    receiver.start()
    wait_until(emulator.webhooks, "the webhook registration")

    crm = make_crm(tmp_path / "crm.sqlite", RECIPIENTS)
    sent = run_sdsync(env, "send", "--source", crm, "--query", "SELECT phone FROM customers", "--customer", "demo-customer",
                      "--service", "sms-twoway", "--sender", "DemoOy", "--content", "Spring sale!", "--campaign", "e2e",
                      "--dlr-url", receiver.dlr_url, "--yes")
    assert sent.returncode == 0, sent.stderr
    wait_until(lambda: delivered_callbacks(emulator, "dlr") >= RECIPIENTS, "the delivery reports")
    statuses = [row["status"] for row in emulator.messages()]
    delivered = statuses.count("Delivered")
    assert 0 < delivered < RECIPIENTS  # both outcomes occur with this seed

    emulator.inbound("sms-twoway", phone(0), "Kiitos!")
    emulator.inbound("sms-twoway", phone(1), " Stop")
    wait_until(lambda: delivered_callbacks(emulator, "webhook") >= 2, "the inbound webhooks")

    pulled = run_sdsync(env, "pull", "--resources", "inbound_messages,delivery_reports,sent_messages,campaigns")
    assert pulled.returncode == 0, pulled.stderr
    result = run_report("--html", str(tmp_path / "report.html"), env=env)  # default file in the data dir
    assert result.returncode == 0, result.stderr

    name = f'e2e · {time.strftime("%Y-%m-%d", time.gmtime())} · SMS · "Spring sale!"'
    funnel = console_rows(result.stdout, "Delivery funnel per campaign")
    assert funnel == [[name, str(RECIPIENTS), str(delivered), str(RECIPIENTS - delivered), "0",
                       f"{100 * delivered / RECIPIENTS:.1f}"]]
    replies = console_rows(result.stdout, "Replies and opt-outs per campaign")
    assert replies == [[name, str(RECIPIENTS), "2", "1", f"{200 / RECIPIENTS:.1f}", f"{100 / RECIPIENTS:.1f}"]]
    failed = console_rows(result.stdout, "Contacts with failed messages")
    assert sorted(row[0] for row in failed) == sorted(row["address"] for row in emulator.messages() if row["status"] != "Delivered")
    traffic = console_rows(result.stdout, "Message traffic per day")
    assert sum(int(row[4]) for row in traffic if row[1] == "inbound") == 2
    assert sum(int(row[4]) for row in traffic if row[1] == "outbound") == RECIPIENTS
    receiver.stop()
