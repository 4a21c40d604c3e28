"""Campaigns as marketers run them: frequency caps across campaigns, purpose (transactional sends skip caps,
honour opt-outs unless told), spread sends (SendDateTime evenly within each local window) and proof sends
(their own RequestIds, never counted), exactly once under SIGKILL with the decisions unchanged on resume."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from smartdialog_sync.destinations.campaigns.batches import Batch, PlannedRecipient
from smartdialog_sync.destinations.campaigns.schedule import QuietHours
from smartdialog_sync.destinations.campaigns.spread import Spread, spread_batches
from smartdialog_sync.journal import InboundRow, open_journal
from tests.campaigns.helpers import SEND, ledger_rows, make_crm, phone, run_until_killed, sent_batches
from tests.support.cli import emulator_env, invoke_sdsync

UTC = timezone.utc
PROOFS = ("+358401234567", "+358407654321")


def _journal(data_dir: Path, *stopped: str) -> None:
    """The receiver's journal in `data_dir` (an opt-out source), with a STOP from each of `stopped`."""
    journal = open_journal(data_dir / "journal.sqlite")
    journal.write_batch([InboundRow(f"stop-{n}", number, "+358401000000", "STOP", "SMS", None, None, 1)
                         for n, number in enumerate(stopped)], [])
    journal.close()


def _send(sdsync: Callable[..., Any], crm: str, campaign: str, where: str, *more: str, stdin: str | None = None) -> Any:
    query = f"SELECT phone, first_name FROM customers WHERE {where} ORDER BY id"
    return sdsync(*SEND, "--source", crm, "--query", query, "--content", "Hei {{first_name}}", "--campaign", campaign,
                  *more, stdin=stdin)


def _messages(emulator: Any, campaign: str) -> list[dict[str, Any]]:
    return [m for m in emulator.messages() if (m["request_id"] or "").startswith(f"sdsync:{campaign}:")]


def _sent_to(emulator: Any, campaign: str) -> Counter[str]:
    return Counter(m["address"] for m in _messages(emulator, campaign) if ":proof:" not in m["request_id"])


def test_a_frequency_cap_counts_the_marketing_sends_of_every_campaign_in_the_ledger(
        sdsync: Callable[..., Any], emulator: Any, crm: str, ledger_target: Path | str, tmp_path: Path) -> None:
    _journal(tmp_path / "data")
    ledger = ["--ledger", str(ledger_target), "--yes"]
    assert _send(sdsync, crm, "cap-a", "id < 6", *ledger).exit_code == 0
    capped = _send(sdsync, crm, "cap-b", "id BETWEEN 3 AND 9", "--frequency-cap", "1/7d", *ledger)
    assert capped.exit_code == 0, capped.output
    assert "frequency_cap 3" in capped.output and "frequency cap 1/7d" in capped.output
    assert set(_sent_to(emulator, "cap-b")) == {phone(i) for i in range(6, 10)}
    transactional = _send(sdsync, crm, "cap-t", "id < 10", "--frequency-cap", "1/7d", "--purpose", "transactional", *ledger)
    assert transactional.exit_code == 0, transactional.output
    assert "frequency caps are skipped and this send is not counted against them" in transactional.output
    assert len(_sent_to(emulator, "cap-t")) == 10
    # everyone has one marketing message (a or b); the transactional one is not counted: nobody reaches 2
    second = _send(sdsync, crm, "cap-c", "id < 10", "--frequency-cap", "2/7d", *ledger)
    assert second.exit_code == 0 and len(_sent_to(emulator, "cap-c")) == 10, second.output
    full = _send(sdsync, crm, "cap-d", "id < 10", "--frequency-cap", "2/7d", *ledger)
    assert full.exit_code == 2 and "no recipient left to send to (10 frequency_cap)" in full.output, full.output
    rejected = ledger_rows(ledger_target, "SELECT count(*) FROM campaign_rejected WHERE campaign_id = ? AND reason = ?",
                           "cap-b", "frequency_cap")
    assert rejected == [(3,)]
    purposes = dict(ledger_rows(ledger_target, "SELECT campaign_id, purpose FROM campaign_purposes"))
    assert purposes == {"cap-a": "marketing", "cap-b": "marketing", "cap-t": "transactional", "cap-c": "marketing"}
    ads = dict(ledger_rows(ledger_target, "SELECT campaign_id, message FROM campaigns"))
    assert json.loads(ads["cap-a"]).get("ad_message") is True and "ad_message" not in json.loads(ads["cap-t"])


def test_transactional_sends_honour_opt_outs_unless_ignored(sdsync: Callable[..., Any], emulator: Any, crm: str,
                                                            tmp_path: Path) -> None:
    _journal(tmp_path / "data", phone(2), phone(3))
    marketing_ignoring = _send(sdsync, crm, "opt-m", "id < 5", "--ignore-opt-outs", "--yes")
    assert marketing_ignoring.exit_code == 2
    assert marketing_ignoring.output.strip().endswith("--ignore-opt-outs is only allowed with --purpose transactional")
    honoured = _send(sdsync, crm, "opt-t", "id < 5", "--purpose", "transactional", "--yes")
    assert honoured.exit_code == 0 and "opted_out 2" in honoured.output, honoured.output
    assert set(_sent_to(emulator, "opt-t")) == {phone(0), phone(1), phone(4)}
    ignoring = ("id < 5", "--purpose", "transactional", "--ignore-opt-outs",
                "--suppression-query", f"SELECT '{phone(3)}' AS phone")  # a suppressed number stays out
    plan = _send(sdsync, crm, "opt-i", *ignoring, "--dry-run")
    assert plan.exit_code == 0 and "1 opted-out recipient(s) will get it" in plan.output, plan.output
    ignored = _send(sdsync, crm, "opt-i", *ignoring, "--yes")
    assert ignored.exit_code == 0 and "suppressed 1" in ignored.output, ignored.output
    assert set(_sent_to(emulator, "opt-i")) == {phone(0), phone(1), phone(2), phone(4)}


def test_spread_times_are_even_within_each_local_window(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "people.sqlite")
    connection.execute("CREATE TABLE customers (id INTEGER, phone TEXT, first_name TEXT)")
    finns, swedes = [phone(i) for i in range(6)], [f"+4670000{i:04d}" for i in range(6)]
    connection.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(i, p, f"N{i}") for i, p in enumerate(finns + swedes)])
    connection.commit()
    connection.close()
    crm = f"sqlite:///{tmp_path / 'people.sqlite'}"
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    options = ("--at", day, "--local-time", "10:00", "--quiet-hours", "21:00-08:00", "--spread", "2h", "--batch-size", "2")
    dry = _send(sdsync, crm, "spread", "1 = 1", *options, "--dry-run")
    assert dry.exit_code == 0 and "spread over 2h: 6 call(s) with SendDateTime" in dry.output, dry.output
    result = _send(sdsync, crm, "spread", "1 = 1", *options, "--yes")
    assert result.exit_code == 0, result.output
    times = {m["address"]: datetime.fromisoformat(m["send_at"]) for m in _messages(emulator, "spread")}
    assert len(times) == 12
    for people, offset in ((finns, 2), (swedes, 1)):  # EET / CET on a winter day
        start = datetime.fromisoformat(f"{day}T10:00:00+0{offset}:00")
        assert sorted({times[p] for p in people}) == [start, start + timedelta(minutes=40), start + timedelta(minutes=80)]


def test_spread_rates_and_quiet_hours() -> None:
    recipients = tuple(PlannedRecipient(phone(i), {}, 1) for i in range(10))
    batches = [Batch(n, f"r{n}", recipients, time_zones=("Europe/Helsinki",)) for n in (1, 2, 3)]
    at = datetime(2027, 1, 5, 18, 0, tzinfo=UTC)  # 20:00 in Helsinki
    rate = spread_batches("sms", "c", batches, Spread.parse(None, "20/h"), at, at)
    assert [b.send_at for b in rate] == ["2027-01-05T18:00:00+00:00", "2027-01-05T18:30:00+00:00", "2027-01-05T19:00:00+00:00"]
    quiet = spread_batches("sms", "c", batches, Spread.parse(None, "20/h"), at, at, QuietHours.parse("21:00-08:00"))
    assert [b.send_at for b in quiet][1:] == ["2027-01-05T18:30:00+00:00", "2027-01-06T06:00:00+00:00"]
    assert len({b.request_id for b in rate} | {b.request_id for b in quiet}) == 4  # a RequestId per planned time


def test_proofs_go_first_with_their_own_request_ids_and_are_not_counted(
        sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path) -> None:
    _journal(tmp_path / "data")
    args = ("id < 5", "--proof-to", ",".join(PROOFS), "--frequency-cap", "1/7d")
    refused = _send(sdsync, crm, "proofed", *args, stdin="n\n")
    assert refused.exit_code == 2 and "Proofs sent to +358401234567, +358407654321. Go on" in refused.output, refused.output
    proofs = _messages(emulator, "proofed")
    assert {m["address"] for m in proofs} == set(PROOFS) and {m["content"] for m in proofs} == {"Hei Name0"}
    assert all(m["request_id"].startswith("sdsync:proofed:proof:main:") for m in proofs)
    ledger = tmp_path / "data" / "campaigns.sqlite"
    assert ledger_rows(ledger, "SELECT count(*) FROM campaigns") == [(0,)]
    finished = _send(sdsync, crm, "proofed", *args, stdin="y\n")
    assert finished.exit_code == 0 and "not sent again" in finished.output, finished.output
    messages = _messages(emulator, "proofed")
    assert len([m for m in messages if ":proof:" in m["request_id"]]) == 2  # the rerun sent no second proof
    assert set(_sent_to(emulator, "proofed")) == {phone(i) for i in range(5)}
    proof_times = max(m["created_at"] for m in messages if ":proof:" in m["request_id"])
    assert all(m["created_at"] >= proof_times for m in messages if ":proof:" not in m["request_id"])
    assert ledger_rows(ledger, "SELECT status, count(*) FROM campaign_proofs GROUP BY status") == [("sent", 1)]
    resumed = _send(sdsync, crm, "proofed", *args, "--yes")
    assert resumed.exit_code == 0 and "no proofs sent" in resumed.output, resumed.output
    assert not ledger_rows(ledger, "SELECT address FROM sent_messages WHERE address IN (?, ?)", *PROOFS)
    crm_with_proof = make_crm(tmp_path / "crm2.sqlite", 0, [(1, PROOFS[0], "P", "X", "FI")])
    capped = _send(sdsync, crm_with_proof, "after-proof", "1 = 1", "--frequency-cap", "1/7d", "--yes")
    assert capped.exit_code == 0 and _sent_to(emulator, "after-proof") == {PROOFS[0]: 1}, capped.output


def test_each_variant_gets_its_own_proof_and_the_request_ids_print_literally(
        sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path) -> None:
    _journal(tmp_path / "data")
    query = "SELECT phone, first_name FROM customers WHERE id < 20 ORDER BY id"
    result = sdsync(*SEND, "--source", crm, "--query", query, "--campaign", "ab-proofs", "--proof-to", PROOFS[0],
                    "--variant", "A=Hei {{first_name}}", "--variant", "B=Moi {{first_name}}", "--yes")
    assert result.exit_code == 0, result.output
    proofs = {m["request_id"].split(":")[3]: m["content"] for m in _messages(emulator, "ab-proofs") if ":proof:" in m["request_id"]}
    assert set(proofs) == {"A", "B"} and proofs["A"].startswith("Hei ") and proofs["B"].startswith("Moi ")
    assert "sdsync:ab-proofs:proof:A:" in result.output and "sdsync:ab-proofs:proof:B:" in result.output  # no emoji


def test_a_sigkilled_run_with_a_cap_and_a_spread_resumes_to_the_same_decisions(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator()
    crm = make_crm(tmp_path / "crm.sqlite", 200)
    env = emulator_env(emulator, tmp_path / "data", rate_limit="10/1")
    ledger = tmp_path / "data" / "campaigns.sqlite"
    _journal(tmp_path / "data")
    query = "SELECT phone, first_name FROM customers ORDER BY id"
    first = invoke_sdsync(env, *SEND, "--source", crm, "--query", query + " LIMIT 30", "--content", "A", "--campaign", "before",
                          "--yes")
    assert first.exit_code == 0, first.output
    args = [*SEND, "--source", crm, "--query", query, "--content", "Hei {{first_name}}", "--campaign", "killed",
            "--frequency-cap", "1/7d", "--spread", "1h", "--batch-size", "10", "--yes"]
    assert run_until_killed(args, env, ledger, "killed", 3, None) is None
    assert 3 <= sent_batches(ledger, "killed") < 17
    planned = ledger_rows(ledger, "SELECT batch_no, request_id, send_date_time FROM campaign_batches WHERE campaign_id = ?",
                          "killed")
    assert len(planned) == 17
    finished = invoke_sdsync(env, *args)
    assert finished.exit_code == 0, finished.output
    assert ledger_rows(ledger, "SELECT batch_no, request_id, send_date_time FROM campaign_batches WHERE campaign_id = ?",
                       "killed") == planned
    scheduled = {request_id: send_at for _, request_id, send_at in planned}
    messages = _messages(emulator, "killed")
    sent = Counter(m["address"] for m in messages)
    assert set(sent) == {phone(i) for i in range(30, 200)} and set(sent.values()) == {1}
    for message in messages:
        if scheduled[message["request_id"]] is not None:
            assert datetime.fromisoformat(message["send_at"]) == datetime.fromisoformat(scheduled[message["request_id"]])
    assert ledger_rows(ledger, "SELECT count(*) FROM campaign_rejected WHERE campaign_id = ? AND reason = ?",
                       "killed", "frequency_cap") == [(30,)]


def test_whatsapp_campaigns_take_the_same_options(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "orders.sqlite")
    connection.execute("CREATE TABLE orders (phone TEXT, order_no TEXT)")
    connection.executemany("INSERT INTO orders VALUES (?, ?)", [(phone(i), f"A{i % 2}") for i in range(6)])
    connection.commit()
    connection.close()
    result = sdsync("send-whatsapp", "--customer", "demo-customer", "--service", "sms-oneway", "--template", "order_ready",
                    "--source", f"sqlite:///{tmp_path / 'orders.sqlite'}", "--query", "SELECT phone, order_no FROM orders",
                    "--body-params", "order_no", "--campaign", "wa", "--purpose", "transactional", "--send-rate", "3/h",
                    "--proof-to", PROOFS[0], "--yes")
    assert result.exit_code == 0, result.output
    messages = _messages(emulator, "wa")
    assert [m["content"] for m in messages if m["address"] == PROOFS[0]] == ["Hello! Your order A0 is ready for pickup."]
    sends = sorted({(m["request_id"], m["send_at"]) for m in messages if ":proof:" not in m["request_id"]}, key=lambda x: x[1])
    gaps = [datetime.fromisoformat(b[1]) - datetime.fromisoformat(a[1]) for a, b in zip(sends, sends[1:])]
    assert len(sends) == 2 and timedelta(minutes=59) < gaps[0] <= timedelta(hours=1), sends  # 3 recipients per call


def test_bad_cap_spread_and_proof_options_are_refused_with_exit_2(sdsync: Callable[..., Any], crm: str) -> None:
    for options, message in [
        (("--frequency-cap", "2/7x"), "--frequency-cap '2/7x': the period must be a positive number with s, m, h, d or w"),
        (("--frequency-cap", "0/7d"), "--frequency-cap '0/7d' must look like N/PERIOD with N >= 1"),
        (("--purpose", "newsletter"), "--purpose 'newsletter' must be marketing or transactional"),
        (("--spread", "2h", "--send-rate", "100/h"), "give --spread or --send-rate, not both"),
        (("--send-rate", "fast"), "--send-rate 'fast' must look like N/PERIOD with N >= 1"),
        (("--proof-to", "+358401234567,12"), "--proof-to: "),
    ]:
        result = _send(sdsync, crm, "bad", "id < 3", *options, "--dry-run")
        assert result.exit_code == 2 and message in result.output, (options, result.output)
