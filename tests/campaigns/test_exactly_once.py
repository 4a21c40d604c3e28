"""Exactly once: a 10,000-recipient campaign run as `sdsync send --yes` subprocesses, SIGKILLed at random
points, under injected 5xx, 429 and dropped-after-processing connections, rerun until done. In the end
every valid recipient holds exactly one message in the emulator, and the ledger agrees with it."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from tests.campaigns.helpers import SEND, ledger_rows, make_crm, phone, rerun_until_done, run_until_killed, sent_batches
from tests.support.cli import emulator_env, run_sdsync

RECIPIENTS = 10_000
EXTRA_ROWS = [(20_000, "000", "Bad", "X", "FI"), (20_001, phone(17), "Dup", "X", "FI"), (20_002, "0401000018", "Dup", "X", "FI")]
QUERY = "SELECT phone, first_name FROM customers ORDER BY id"


def _args(crm: str, campaign: str, batch_size: int = 100) -> list[str]:
    return [*SEND, "--source", crm, "--query", QUERY, "--content", "Hei {{first_name}}!", "--campaign", campaign,
            "--batch-size", str(batch_size), "--yes"]


def _assert_exactly_once(emulator: Any, ledger: Path, campaign: str) -> None:
    messages = emulator.messages()
    per_address = Counter(m["address"] for m in messages)
    expected = {phone(i) for i in range(RECIPIENTS)}
    assert set(per_address) == expected
    assert max(per_address.values()) == 1, [a for a, n in per_address.items() if n > 1][:5]
    assert ledger_rows(ledger, "SELECT DISTINCT status FROM campaign_batches WHERE campaign_id = ?", campaign) == [("sent",)]
    sent = ledger_rows(ledger, "SELECT address, message_id, recipient_id FROM sent_messages WHERE campaign_id = ?", campaign)
    assert len(sent) == RECIPIENTS
    by_address = {m["address"]: m for m in messages}
    for address, message_id, recipient_id in sent:
        assert by_address[address]["message_id"] == message_id
        assert recipient_id in (None, by_address[address]["recipient_id"])
    batch_messages = ledger_rows(ledger, "SELECT batch_no, message_id, request_id FROM campaign_batches WHERE campaign_id = ?", campaign)
    emulator_request_ids = {m["message_id"]: m["request_id"] for m in messages}
    assert all(emulator_request_ids[message_id] == request_id for _, message_id, request_id in batch_messages)
    rejected = ledger_rows(ledger, "SELECT reason, count(*) FROM campaign_rejected WHERE campaign_id = ? GROUP BY reason", campaign)
    assert dict(rejected) == {"invalid_phone": 1, "duplicate": 2}


def test_sigkill_at_random_points_then_rerun_sends_each_recipient_once(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="50/1")
    crm = make_crm(tmp_path / "crm.sqlite", RECIPIENTS, EXTRA_ROWS)
    env = emulator_env(emulator, tmp_path / "data", rate_limit="50/1")
    ledger, campaign = tmp_path / "data" / "campaigns.sqlite", "kill-test"
    rng = random.Random(20261127)
    kill_points: list[tuple[int | None, float | None]] = [(None, rng.uniform(0.5, 2.5))]
    kill_points += [(target, None) for target in sorted(rng.sample(range(1, 99), 4))]
    progress = []
    for kill_after_sent, kill_after_s in kill_points:
        assert run_until_killed(_args(crm, campaign), env, ledger, campaign, kill_after_sent, kill_after_s) is None
        progress.append(sent_batches(ledger, campaign))
    assert 0 < progress[-1] < 100, progress  # the kills landed while sending
    final = run_sdsync(env, *_args(crm, campaign))
    assert final.returncode == 0, final.stderr + final.stdout
    _assert_exactly_once(emulator, ledger, campaign)
    stats = emulator.stats()
    assert stats["responses_by_status"].get("409", 0) <= len(kill_points) * 2  # at most the batches in flight per kill


def test_faults_and_rate_limits_never_duplicate_or_lose_a_recipient(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="3/1", error_rate=0.15, drop_after_processing_rate=0.15, fault_seed=11)
    crm = make_crm(tmp_path / "crm.sqlite", RECIPIENTS, EXTRA_ROWS)
    env = emulator_env(emulator, tmp_path / "data", rate_limit="50/1")  # more than the service allows: 429s
    ledger, campaign = tmp_path / "data" / "campaigns.sqlite", "fault-test"
    args = _args(crm, campaign, batch_size=250)
    assert run_until_killed(args, env, ledger, campaign, 10, None) is None  # one SIGKILL mid-way too
    rerun_until_done(env, args, attempts=8)
    _assert_exactly_once(emulator, ledger, campaign)
    stats = emulator.stats()
    assert stats["faults_injected"]["errors"] > 0 and stats["faults_injected"]["dropped"] > 0
    assert stats["rate_limited"] > 0
    assert stats["responses_by_status"].get("409", 0) > 0  # dropped answers were recognised as duplicates


def test_a_rate_limited_run_stops_cleanly_and_the_rerun_finishes(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="3/600")  # Retry-After beyond what the client waits: RateLimited
    crm = make_crm(tmp_path / "crm.sqlite", 1000)
    env = emulator_env(emulator, tmp_path / "data")
    ledger, campaign = tmp_path / "data" / "campaigns.sqlite", "limited"
    args = [*SEND, "--source", crm, "--query", QUERY, "--content", "Hi", "--campaign", campaign, "--batch-size", "100",
            "--workers", "1", "--yes"]
    stopped = run_sdsync(env, *args)
    assert stopped.returncode == 1, stopped.stderr + stopped.stdout
    assert "left in flight" in stopped.stderr and "Run the same command again" in stopped.stderr
    states = dict(ledger_rows(ledger, "SELECT status, count(*) FROM campaign_batches GROUP BY status"))
    assert states == {"sent": 3, "in_flight": 1, "planned": 6}
    emulator.configure(rate_limit="1000/1")
    finished = run_sdsync(env, *args)
    assert finished.returncode == 0, finished.stderr
    assert Counter(Counter(m["address"] for m in emulator.messages()).values()) == {1: 1000}


def test_sigkill_between_batches_keeps_the_holdout_and_each_recipients_variant(start_emulator: Any, tmp_path: Path) -> None:
    """Variants and a holdout, SIGKILLed twice between batches: after the resume the same recipients are held out,
    each other recipient got exactly one message, with the content of the variant the ledger assigned it."""
    from smartdialog_sync.destinations.campaigns.arms import build_arms

    count, campaign = 1000, "ab-kill-test"
    emulator = start_emulator(rate_limit="100/1")
    crm = make_crm(tmp_path / "crm.sqlite", count)
    env = emulator_env(emulator, tmp_path / "data", rate_limit="100/1")
    ledger = tmp_path / "data" / "campaigns.sqlite"
    variants = ["A:70=Hi {{first_name}}, -20% today", "B:30={{first_name}}, your code is ready"]
    args = [*SEND, "--source", crm, "--query", QUERY, "--variant", variants[0], "--variant", variants[1],
            "--holdout", "10%", "--campaign", campaign, "--batch-size", "20", "--yes"]
    query = "SELECT address, variant, held_out FROM campaign_assignments WHERE campaign_id = ? ORDER BY address"
    assigned = []
    for kill_after_sent in (5, 20):
        assert run_until_killed(args, env, ledger, campaign, kill_after_sent, None) is None
        assigned.append(ledger_rows(ledger, query, campaign))
    assert 0 < sent_batches(ledger, campaign) < ledger_rows(ledger, "SELECT count(*) FROM campaign_batches")[0][0]
    final = run_sdsync(env, *args)
    assert final.returncode == 0, final.stderr + final.stdout
    assert assigned[0] == assigned[1] == ledger_rows(ledger, query, campaign) and len(assigned[0]) == count
    arms = build_arms(variants, "10%", "content")  # the same hash, computed here: a re-plan picks the same people
    expected = {phone(i): arms.assign(campaign, phone(i)) for i in range(count)}
    assert {address: (variant, bool(held)) for address, variant, held in assigned[0]} == {
        address: (row.variant, row.held_out) for address, row in expected.items()}
    messages = emulator.messages()
    per_address = Counter(m["address"] for m in messages)
    sent_to = {address for address, row in expected.items() if not row.held_out}
    assert set(per_address) == sent_to and max(per_address.values()) == 1
    contents = {"A": "Hi {name}, -20% today", "B": "{name}, your code is ready"}
    number = {phone(i): i for i in range(count)}
    assert all(m["content"] == contents[str(expected[m["address"]].variant)].format(name=f"Name{number[m['address']]}")
               for m in messages)
    sent = ledger_rows(ledger, "SELECT count(*) FROM sent_messages WHERE campaign_id = ?", campaign)[0][0]
    assert sent == len(sent_to) and 60 <= count - sent <= 140
