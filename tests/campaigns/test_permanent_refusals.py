"""A refusal that cannot succeed on a rerun is found before the ledger where it can be, and is never told
to run again: a WhatsApp template's body parameter count is checked at plan time, and a batch the service
refuses as it is (400) stops the campaign with SendRefused instead of "run the same command again"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from smartdialog_sync.destinations.campaigns.request import Source, build_spec
from smartdialog_sync.destinations.campaigns.config import resolve_campaign_settings
from smartdialog_sync.destinations.campaigns.errors import SendRefused
from smartdialog_sync.destinations.campaigns.ledger import Ledger
from smartdialog_sync.destinations.campaigns.run import run_campaign
from smartdialog_sync.destinations.campaigns.schedule import Timing

from smartdialog_sync.api import ClientSettings
from tests.campaigns.helpers import make_crm

WHATSAPP = ["send-whatsapp", "--customer", "demo-customer", "--service", "sms-oneway"]


def test_body_parameters_for_a_template_without_any_exit_2_before_the_ledger(
        sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 3)
    wrong = sdsync(*WHATSAPP, "--source", crm, "--query", "SELECT phone, city FROM customers", "--template", "welcome",
                   "--body-params", "city", "--yes")
    assert wrong.exit_code == 2, wrong.output
    assert "template welcome takes 0 body parameter(s); --body-params gives 1" in wrong.output
    assert "again" not in wrong.output
    assert not (tmp_path / "data" / "campaigns.sqlite").exists()
    assert emulator.calls("SendWhatsappTemplateMessage") == 0


def test_a_batch_refused_as_it_is_is_not_told_to_run_again(emulator: Any, tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 3)
    client = ClientSettings().with_overrides(base_url=emulator.base_url, access_token=emulator.token,
                                             rate_limit="100000/60", data_dir=tmp_path / "data")
    source = Source(crm, "SELECT phone, city FROM customers")
    spec = build_spec("whatsapp", "demo-customer", "sms-oneway", source, {"template_name": "welcome"}, Timing(),
                      "refused", body_columns=("city",))  # past the CLI's template check: the service refuses it
    with pytest.raises(SendRefused) as refused:
        run_campaign(client, spec, resolve_campaign_settings(batch_size=1), workers=1)
    message = str(refused.value)
    assert "takes 0 body parameter(s), got 1" in message and "running the same command again gets the same answer" in message
    assert "Run the same command again" not in message and refused.value.exit_code == 1
    assert emulator.calls("SendWhatsappTemplateMessage") == 1  # the first refusal stopped the run: no call per batch
    ledger = Ledger.open(tmp_path / "data" / "campaigns.sqlite")
    try:
        assert ledger.status_counts("refused") == {"failed": (1, 1), "planned": (2, 2)}
    finally:
        ledger.close()
