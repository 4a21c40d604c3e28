"""The ledger on both engines (a SQLite file and the real PostgreSQL): the same calls, the same results,
one runner per campaign wherever the ledger is, and the copy of a local ledger into PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smartdialog_sync.destinations.campaigns.request import CampaignSpec, Source
from smartdialog_sync.destinations.campaigns.ledger import Ledger, SentRecipient, lock_state, migrate_ledger
from smartdialog_sync.destinations.campaigns.planner import plan_sms
from smartdialog_sync.destinations.campaigns.recipients import Recipient, Rejected
from smartdialog_sync.state.migration import StateConflict
from smartdialog_sync.state.runner_lock import RunnerBusy, runner_lock
from tests.campaigns.helpers import ledger_rows, phone


def _spec(campaign_id: str = "c1", customer: str = "demo-customer") -> CampaignSpec:
    source = Source("sqlite:////tmp/crm.sqlite", "SELECT phone, first_name FROM customers")
    return CampaignSpec("sms", customer, "sms-oneway", source, {"sender": "Demo", "content": "Hi {{first_name}}"},
                        campaign_id=campaign_id)


def _write_campaign(ledger: Ledger, campaign_id: str = "c1", count: int = 5, size: int = 2) -> list:
    recipients = [Recipient(phone(i), {"first_name": f"Nämë{i}"}) for i in range(count)]
    batches = plan_sms(campaign_id, recipients, "Hi {{first_name}}", size, 10)
    rejected = [Rejected(7, "12", None, "invalid_phone", "too short"), Rejected(8, phone(1), phone(1), "duplicate", "row 2")]
    ledger.create_campaign(_spec(campaign_id).record(), batches, rejected)
    return batches


def test_the_ledger_keeps_every_state_change_on_either_engine(ledger_target: Path | str) -> None:
    ledger = Ledger.open(ledger_target)
    batches = _write_campaign(ledger)
    assert not ledger.has_sent("demo-customer")
    ledger.mark_in_flight("c1", 1)
    ledger.mark_sent("c1", batches[0], "m-1", [SentRecipient(r.address, f"r-{r.address}", r.parts) for r in batches[0].recipients])
    ledger.mark_in_flight("c1", 2)
    ledger.mark_failed("c1", 3, "refused")
    parts = ledger.split_batch("sms", "c1", batches[1], 1, "refused for its size")
    ledger.learn_max("https://api", "demo-customer", 5, "first")
    ledger.learn_max("https://api", "demo-customer", 9, "higher: ignored")
    ledger.close()

    reopened = Ledger.open(ledger_target)  # what another process (or machine) reads
    assert reopened.campaign("c1").fingerprint == _spec().fingerprint()
    assert reopened.campaign("c1").message == {"sender": "Demo", "content": "Hi {{first_name}}"}
    assert reopened.campaign("missing") is None
    unsent = reopened.unsent_batches("c1")
    assert [(u.batch.batch_no, u.status) for u in unsent] == [(3, "failed"), (4, "planned"), (5, "planned")]
    assert [u.batch for u in unsent[1:]] == parts
    assert unsent[0].batch.recipients == batches[2].recipients
    assert unsent[1].batch.recipients[0].personalization == {"first_name": "Nämë2"}
    assert reopened.status_counts("c1") == {"sent": (1, 2), "failed": (1, 1), "planned": (2, 2)}
    assert reopened.rejected_counts("c1") == {"duplicate": 1, "invalid_phone": 1}
    assert reopened.learned_max("https://api", "demo-customer") == 5
    assert reopened.learned_max("https://api", "other") is None
    assert reopened.has_sent("demo-customer") and not reopened.has_sent("other")
    assert ledger_rows(ledger_target, "SELECT address, recipient_id, message_id FROM sent_messages ORDER BY address") == [
        (phone(0), f"r-{phone(0)}", "m-1"), (phone(1), f"r-{phone(1)}", "m-1")]
    [(into,)] = ledger_rows(ledger_target, "SELECT into_batches FROM campaign_batch_splits WHERE batch_no = 2")
    assert json.loads(into) == [4, 5]
    reopened.close()


def test_one_runner_per_campaign_wherever_the_ledger_is(ledger_target: Path | str) -> None:
    state = lock_state(ledger_target)
    assert state.shared == isinstance(ledger_target, str)
    with runner_lock(state, "campaign:c1", "campaign c1"):
        with pytest.raises(RunnerBusy, match=r"campaign c1 is being run by .* pid \d+ since "):
            with runner_lock(lock_state(ledger_target), "campaign:c1", "campaign c1"):
                pass
        with runner_lock(lock_state(ledger_target), "campaign:c2", "campaign c2"):
            pass
    with runner_lock(lock_state(ledger_target), "campaign:c1", "campaign c1"):
        pass


def test_a_local_ledger_is_copied_into_postgresql_once(tmp_path: Path, postgres_url: str) -> None:
    local = tmp_path / "campaigns.sqlite"
    ledger = Ledger.open(local)
    batches = _write_campaign(ledger)
    ledger.mark_in_flight("c1", 1)
    ledger.mark_sent("c1", batches[0], "m-1", [SentRecipient(r.address, f"r-{r.address}", r.parts) for r in batches[0].recipients])
    ledger.split_batch("sms", "c1", batches[1], 1, "refused")
    ledger.learn_max("https://api", "demo-customer", 1, "learned")
    _write_campaign(ledger, "c2", 3, 3)
    ledger.close()

    first = migrate_ledger(local, postgres_url)
    assert first.copied == {"campaigns": 2, "campaign_batches": 5, "campaign_recipients": 8, "campaign_rejected": 4,
                            "sent_messages": 2, "campaign_batch_splits": 1, "campaign_purposes": 2,
                            "connection_limits": 1}
    assert not first.already_there
    again = migrate_ledger(local, postgres_url)
    assert not again.copied and again.already_there["campaigns"] == 2
    shared = Ledger.open(postgres_url)
    assert shared.status_counts("c1") == {"sent": (1, 2), "planned": (3, 3)}
    assert [u.batch.request_id for u in shared.unsent_batches("c1")] == [
        u.batch.request_id for u in Ledger.open(local).unsent_batches("c1")]
    assert shared.learned_max("https://api", "demo-customer") == 1
    # the pull's cursor: migrated rows keep their SQLite rowids, later ones come after them
    rowids = ledger_rows(local, "SELECT rowid FROM sent_messages ORDER BY rowid")
    assert ledger_rows(postgres_url, "SELECT seq FROM sent_messages ORDER BY seq") == rowids
    shared.mark_sent("c2", Ledger.open(local).unsent_batches("c2")[0].batch, "m-2", [SentRecipient(phone(0), "x", 1)])
    assert ledger_rows(postgres_url, "SELECT max(seq) FROM sent_messages")[0][0] > rowids[-1][0]
    shared.close()

    changed = Ledger.open(local)
    changed.mark_in_flight("c1", 3)  # the local ledger moved on: the shared one holds different data now
    changed.close()
    with pytest.raises(StateConflict, match="campaign c1: campaign_batches batch 3 differs"):
        migrate_ledger(local, postgres_url)
