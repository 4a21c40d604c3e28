"""One CampaignRequest for every caller (`sdsync send`, Dagster, declared syncs): its `resolve()` parses the
options with the [campaigns] fallbacks, and the log adapter Dagster and the syncs runner use shows the plan."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from smartdialog_sync.destinations.campaigns.errors import CampaignInputError
from smartdialog_sync.destinations.campaigns.request import CampaignRequest, Source
from smartdialog_sync.destinations.campaigns.run import run_campaign
from smartdialog_sync.pipelines.progress.log import LogProgress

from smartdialog_sync.api import ClientSettings
from tests.campaigns.helpers import make_crm


NEXT_YEAR = date.today().year + 1  # a send date in the future, in summer (Helsinki is UTC+3)


def _request(crm: str, **options: object) -> CampaignRequest:
    return CampaignRequest("sms", "demo-customer", "sms-oneway", Source(crm, "SELECT phone, first_name FROM customers"),
                           sender="DemoOy", content="Hi {{first_name}}", **options)  # type: ignore[arg-type]


def test_a_request_takes_the_campaigns_fallbacks_unless_an_option_turns_them_off(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 2)
    monkeypatch.setenv("CAMPAIGNS__QUIET_HOURS", "21:00-08:00")
    monkeypatch.setenv("CAMPAIGNS__FREQUENCY_CAP", "2/7d")
    spec, settings, proofs = _request(crm, proof_to="0401234567").resolve()
    assert spec.timing.quiet_hours is not None and str(spec.timing.quiet_hours) == "21:00-08:00"
    assert spec.audience.cap is not None and spec.audience.cap.text == "2/7d"
    assert proofs == ("+358401234567",) and settings.batch_size == 1000
    spec, _, _ = _request(crm, quiet_hours="off", frequency_cap="off").resolve()
    assert spec.timing.quiet_hours is None and spec.audience.cap is None
    with pytest.raises(CampaignInputError, match="give content or at least two --variant"):
        _request(crm, variants=("A=Hi", "B=Ho"), content_option="content").resolve()


def test_the_log_adapter_logs_the_plan_with_its_schedule(tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 3)
    client = ClientSettings().with_overrides(base_url="http://127.0.0.1:9/api-integrations/v1", access_token="unused",
                                             data_dir=tmp_path / "data")
    spec, settings, _ = _request(crm, campaign_id="logged", at=f"{NEXT_YEAR}-06-01", local_time="09:00").resolve()
    lines: list[str] = []
    result = run_campaign(client, spec, settings, dry_run=True, progress=LogProgress(lines.append))
    assert result.plan is not None and not (tmp_path / "data" / "campaigns.sqlite").exists()
    assert "Campaign logged (sms) for customer demo-customer, service sms-oneway" in lines
    assert f"  {NEXT_YEAR}-06-01T06:00:00+00:00 UTC = {NEXT_YEAR}-06-01 09:00 EEST (Europe/Helsinki): 3 recipient(s), 1 call(s), " \
           "3 SMS part(s)" in lines
