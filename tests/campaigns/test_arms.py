"""A/B variants and the holdout: parsing, deterministic weighted assignment, the ledger on both engines and the
plan / dry run of `sdsync send --variant --holdout` (planning only: nothing is sent here)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

from smartdialog_sync.destinations.campaigns.arms import Arms, build_arms, parse_holdout
from smartdialog_sync.destinations.campaigns.planner import Plan, plan_campaign
from smartdialog_sync.destinations.campaigns.request import CampaignSpec, Source, check_existing
from smartdialog_sync.destinations.campaigns.config import CampaignSettings
from smartdialog_sync.destinations.campaigns.errors import CampaignInputError, LedgerConflict
from smartdialog_sync.destinations.campaigns.ledger import Ledger, assignments_reader, migrate_ledger
from tests.campaigns.helpers import SEND, ledger_rows, make_crm

QUERY = "SELECT phone, first_name FROM customers ORDER BY id"
SETTINGS = CampaignSettings(("STOP",), 100, 10, None)


def _spec(crm: str, arms: Arms, campaign_id: str = "ab-1") -> CampaignSpec:
    return CampaignSpec("sms", "demo-customer", "sms-oneway", Source(crm, QUERY), {"sender": "Demo"},
                        campaign_id=campaign_id, arms=arms)


def _arms(*variants: str, holdout: str | None = "10%") -> Arms:
    return build_arms(variants, holdout, "content")


def _plan(crm: str, arms: Arms, campaign_id: str = "ab-1") -> Plan:
    return plan_campaign(_spec(crm, arms, campaign_id), SETTINGS, [])


def _arm_of(plan: Plan) -> dict[str, str]:
    return {row.address: "holdout" if row.held_out else str(row.variant) for row in plan.assignments}


@pytest.mark.parametrize(("variants", "holdout", "message"), [
    (["A=Hi", "B=Ho", "A=Again"], None, "label(s) A given more than once"),
    (["A:70=Hi", "B=Ho"], None, "a weight to every --variant or to none"),
    (["1A=Hi", "B=Ho"], None, "label '1A' must be"),
    (["A;DROP=Hi", "B=Ho"], None, "label 'A;DROP' must be"),
    (["holdout=Hi", "B=Ho"], None, "and not 'holdout'"),
    (["A:0=Hi", "B:1=Ho"], None, "weight '0' must be"),
    (["A=", "B=Ho"], None, "must look like LABEL=VALUE"),
    (["A=Hi"], None, "at least two --variant"),
    (["A=Hi", "B=Ho"], "100%", "less than 100%"),
    (["A=Hi", "B=Ho"], "ten", "must be a percentage"),
])
def test_bad_variants_and_holdouts_are_input_errors(variants: list[str], holdout: str | None, message: str) -> None:
    with pytest.raises(CampaignInputError, match=re.escape(message)) as raised:
        build_arms(variants, holdout, "content")
    assert raised.value.exit_code == 2


def test_holdout_percentages() -> None:
    assert parse_holdout("10%") == 0.1 and parse_holdout(" 2.5 % ") == 0.025 and parse_holdout(None) == 0.0


def test_weights_and_holdout_are_respected_on_2000_numbers(tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 2000)
    plan = _plan(crm, _arms("A:70=Hi {{first_name}}, -20% today", "B:30={{first_name}}, your code is ready"))
    counts = Counter(_arm_of(plan).values())
    assert sum(counts.values()) == 2000
    assert abs(counts["holdout"] - 200) <= 45, counts  # about 4.4 standard deviations
    assert abs(counts["A"] / (counts["A"] + counts["B"]) - 0.7) <= 0.05, counts
    # each variant batched on its own with its own content; the batches alternate between the variants
    assert all(len({_arm_of(plan)[r.address] for r in batch.recipients}) == 1 for batch in plan.batches)
    assert [batch.variant for batch in plan.batches[:4]] == ["A", "B", "A", "B"]
    assert sum(len(batch.recipients) for batch in plan.batches) == counts["A"] + counts["B"]
    first_a = next(batch for batch in plan.batches if batch.variant == "A").recipients[0]
    assert first_a.personalization == {"first_name": first_a.personalization["first_name"]}
    assert [b.batch_no for b in plan.batches] == list(range(1, len(plan.batches) + 1))


def test_the_assignment_is_the_same_on_every_re_plan_and_differs_per_campaign(tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 500)
    arms = _arms("A=Hi", "B=Ho")
    first, again = _plan(crm, arms), _plan(crm, _arms("A=Hi", "B=Ho"))
    assert _arm_of(first) == _arm_of(again)
    assert [b.request_id for b in first.batches] == [b.request_id for b in again.batches]
    other = _plan(crm, arms, "ab-2")
    assert _arm_of(other) != _arm_of(first)  # a hash of campaign id and number, not of the number alone


def test_variants_and_holdout_are_part_of_the_fingerprint(tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    planned = _spec(crm, _arms("A=Hi", "B=Ho")).record()
    check_existing(_spec(crm, _arms("A=Hi", "B=Ho")), planned)
    for changed in (_arms("A=Hi", "B=Hey"), _arms("A:2=Hi", "B:1=Ho"), _arms("A=Hi", "B=Ho", holdout="20%")):
        with pytest.raises(LedgerConflict, match="different arms"):
            check_existing(_spec(crm, changed), planned)
    plain = CampaignSpec("sms", "demo-customer", "sms-oneway", Source(crm, QUERY), {"sender": "Demo", "content": "Hi"})
    assert "arms" not in plain.description()  # campaigns without arms keep their fingerprint


def test_the_ledger_keeps_the_assignment_on_either_engine(ledger_target: Path | str, tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 300)
    plan = _plan(crm, _arms("A=Hi", "B=Ho"))
    ledger = Ledger.open(ledger_target)
    try:
        ledger.create_campaign(plan.record, plan.batches, plan.recipients.rejected, plan.assignments)
        unsent = ledger.unsent_batches("ab-1")
    finally:
        ledger.close()
    assert [(u.batch.request_id, u.batch.variant) for u in unsent] == [(b.request_id, b.variant) for b in plan.batches]
    with assignments_reader(ledger_target) as read:
        assert read is not None
        ((campaign_id, rows),) = list(read(set()))
        assert list(read({"ab-1"})) == []
    assert campaign_id == "ab-1"
    assert {row["address"]: "holdout" if row["held_out"] else row["variant"] for row in rows} == _arm_of(plan)
    assert all(isinstance(row["held_out"], bool) for row in rows)


def test_the_assignment_is_copied_into_postgresql(tmp_path: Path, postgres_url: str) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 50)
    plan = _plan(crm, _arms("A=Hi", "B=Ho"))
    local = tmp_path / "campaigns.sqlite"
    ledger = Ledger.open(local)
    ledger.create_campaign(plan.record, plan.batches, plan.recipients.rejected, plan.assignments)
    ledger.close()
    assert migrate_ledger(local, postgres_url).copied["campaign_assignments"] == 50
    assert migrate_ledger(local, postgres_url).already_there["campaign_assignments"] == 50
    query = "SELECT address, variant, held_out FROM campaign_assignments ORDER BY address"
    assert [(a, v, bool(h)) for a, v, h in ledger_rows(local, query)] == ledger_rows(postgres_url, query)


def test_the_dry_run_shows_each_variant_and_the_holdout(sdsync: Callable[..., Any], crm: str, tmp_path: Path) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--variant", "A:70=Hi {{first_name}}, -20% today",
                    "--variant", "B:30=Hei {{first_name}}, koodisi on valmis ✓", "--holdout", "10%", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "assignment: by a hash of the campaign id and the number" in out
    assert "variant A (weight 70):" in out and "variant B (weight 30):" in out
    assert "GSM-7" in out.split("variant A (weight")[1].splitlines()[0]
    assert "UCS-2" in out.split("variant B (weight")[1].splitlines()[0]
    assert "encoding: GSM-7" in out.split("  variant A:")[1].splitlines()[1]  # the encoding preview per variant
    assert "encoding: UCS-2" in out.split("  variant B:")[1].splitlines()[1]
    assert "holdout 10 %:" in out and "not sent, recorded as held out" in out
    assert not (tmp_path / "data" / "campaigns.sqlite").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--variant", "A b=Hi", "--variant", "B=Ho"], "label 'A b' must be"),
    (["--content", "Hi", "--variant", "A=Hi", "--variant", "B=Ho"], "give --content or at least two --variant"),
    (["--content", "Hi", "--holdout", "0%"], "more than 0%"),
])
def test_bad_variant_options_exit_2_before_the_ledger(sdsync: Callable[..., Any], crm: str, tmp_path: Path,
                                                      args: list[str], message: str) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, *args, "--yes")
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "campaigns.sqlite").exists()


def test_whatsapp_variants_send_each_recipient_its_template(sdsync: Callable[..., Any], emulator: Any,
                                                            tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "orders.sqlite", 40)
    created = sdsync("whatsapp", "template", "create", "--customer", "demo-customer", "--identity", "+358401000000",
                     "--name", "city_offer", "--language", "en", "--content", "An offer in {{1}}!", "--category", "MARKETING")
    assert created.exit_code == 0, created.output
    result = sdsync("send-whatsapp", "--customer", "demo-customer", "--service", "sms-oneway", "--source", crm,
                    "--query", "SELECT phone, city FROM customers", "--variant", "A=order_ready", "--variant", "B=city_offer",
                    "--body-params", "city", "--holdout", "20%", "--campaign", "wa-ab", "--yes")
    assert result.exit_code == 0, result.output
    assert emulator.calls("GetCustomerWhatsAppTemplates") == 1  # listed once for both variants' names
    assert "variant A (weight 1):" in result.stdout and "holdout 20 %:" in result.stdout
    arms = dict(ledger_rows(tmp_path / "data" / "campaigns.sqlite",
                            "SELECT address, CASE WHEN held_out = 1 THEN 'holdout' ELSE variant END FROM campaign_assignments"))
    templates = {"A": "order_ready", "B": "city_offer"}
    sent = {m["address"]: m["template_name"] for m in emulator.messages()}
    assert len(sent) == len(emulator.messages())  # once each
    assert sent == {address: templates[arm] for address, arm in arms.items() if arm != "holdout"}
    assert set(arms.values()) == {"A", "B", "holdout"}


def test_a_ledger_from_before_the_assignments_is_read_by_the_pull(tmp_path: Path) -> None:
    """The pull's read-only reader creates nothing: a ledger no newer version opened has no campaign_assignments."""
    import sqlite3

    from smartdialog_sync.destinations.campaigns.ledger import SentRecipient, sent_messages_reader

    crm = make_crm(tmp_path / "crm.sqlite", 3)
    spec = CampaignSpec("sms", "demo-customer", "sms-oneway", Source(crm, QUERY), {"sender": "Demo", "content": "Hi"})
    plan = plan_campaign(spec, SETTINGS, [])
    path = tmp_path / "campaigns.sqlite"
    ledger = Ledger.open(path)
    ledger.create_campaign(plan.record, plan.batches, [])
    batch = plan.batches[0]
    ledger.mark_sent(plan.record.campaign_id, batch, "m-1", [SentRecipient(r.address, "r", 1) for r in batch.recipients])
    ledger.close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE campaign_assignments")
    with sent_messages_reader(path) as read:
        assert read is not None
        rows = read(0, 10)
    assert [(row["address"], row["variant"]) for row in rows] == [(r.address, None) for r in batch.recipients]
    with assignments_reader(path) as campaigns_of:
        assert campaigns_of is None


def test_a_holdout_without_variants_sends_the_content_to_the_rest(tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 1000)
    spec = CampaignSpec("sms", "demo-customer", "sms-oneway", Source(crm, QUERY), {"sender": "Demo", "content": "Hi"},
                        campaign_id="h-1", arms=Arms(holdout=parse_holdout("25%")))
    plan = plan_campaign(spec, SETTINGS, [])
    held = {row.address for row in plan.assignments if row.held_out}
    sent = {r.address for batch in plan.batches for r in batch.recipients}
    assert abs(len(held) - 250) <= 45 and not held & sent and len(held | sent) == 1000
    assert {row.variant for row in plan.assignments} == {None} and {b.variant for b in plan.batches} == {None}
    assert held == {row.address for row in plan_campaign(spec, SETTINGS, []).assignments if row.held_out}
