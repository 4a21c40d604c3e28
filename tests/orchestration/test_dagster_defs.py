"""The Dagster definitions: a job and a schedule per declared sync, schedules build valid run config, jobs really run."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

dagster = pytest.importorskip(
    "dagster", reason="dagster is not installed: pip install -e '.[orchestration]' to test the Dagster definitions"
)

from dagster import (  # noqa: E402
    DagsterInstance,
    DagsterInvalidConfigError,
    build_schedule_context,
    instance_for_test,
    validate_run_config,
)
from smartdialog_sync.pipelines.orchestration.dagster_defs import (  # noqa: E402
    build_definitions,
    defs,
)
from smartdialog_sync.pipelines.syncs.definitions import read_definitions  # noqa: E402

from smartdialog_sync.journal import open_journal  # noqa: E402
from tests.campaigns.helpers import ledger_rows  # noqa: E402
from tests.syncs.conftest import PHONES, crm, project  # noqa: E402, F401

NEXT_YEAR = date.today().year + 1  # send times in the future, in winter (Helsinki is UTC+2)
CUSTOMER = "demo-customer"


REPOSITORY = defs.get_repository_def()


@pytest.fixture
def instance() -> DagsterInstance:
    with instance_for_test() as temporary:
        yield temporary


@pytest.fixture
def data_dir(on_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The jobs' data dir (`on_emulator` points this process's settings at the emulator and it); work in tmp_path."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


DECLARED = """
[syncs.crm_nightly]
kind = "contacts"
source = "env:CRM_URL"
query = "SELECT phone, first_name FROM people"
customer = "demo-customer"
group_service = "crm-group"
schedule = "0 2 * * *"
timezone = "Europe/Helsinki"

[syncs.hourly]
kind = "pull"
schedule = "0 * * * *"

[syncs.monthly_offer]
kind = "campaign"
source = "env:CRM_URL"
query = "SELECT phone, first_name FROM people"
customer = "demo-customer"
service = "sms-oneway"
sender = "DemoOy"
content = "Hi {{first_name}}"
schedule = "0 9 1 * *"

[syncs.by_hand]
kind = "pull"
resources = ["inbound_messages"]
"""


@pytest.fixture
def declared_job(project, crm: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """`declared_job(name)`: the Dagster job of the sync `name` declared in DECLARED, its CRM being `crm`."""
    monkeypatch.setenv("CRM_URL", crm)
    project(DECLARED)
    repository = build_definitions(read_definitions()).get_repository_def()
    return lambda name: repository.get_job(f"sync_{name}")


def test_without_declared_syncs_only_the_one_off_campaign_job_is_defined() -> None:
    assert {job.name for job in REPOSITORY.get_all_jobs()} == {"campaign_job"}
    assert not list(REPOSITORY.schedule_defs)


def test_one_job_and_one_schedule_per_declared_sync(project, instance: DagsterInstance) -> None:
    project(DECLARED)
    repository = build_definitions(read_definitions()).get_repository_def()
    assert {job.name for job in repository.get_all_jobs()} == {
        "sync_crm_nightly", "sync_hourly", "sync_monthly_offer", "sync_by_hand", "campaign_job"}
    schedules = {schedule.name: schedule for schedule in repository.schedule_defs}
    assert {name: (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name)
            for name, schedule in schedules.items()} == {
        "crm_nightly_schedule": ("0 2 * * *", "Europe/Helsinki", "sync_crm_nightly"),
        "hourly_schedule": ("0 * * * *", "UTC", "sync_hourly"),
        "monthly_offer_schedule": ("0 9 1 * *", "UTC", "sync_monthly_offer"),
    }
    tick = datetime(2027, 1, 1, 9, tzinfo=timezone.utc)
    [request] = schedules["monthly_offer_schedule"].evaluate_tick(
        build_schedule_context(instance=instance, scheduled_execution_time=tick)).run_requests
    assert request.run_config == {"ops": {"run_monthly_offer": {"config": {"scheduled_for": tick.isoformat()}}}}
    assert validate_run_config(repository.get_job("sync_monthly_offer"), request.run_config)


def test_campaign_job_requires_the_campaign_config() -> None:
    config = {"source": "sqlite:///crm.sqlite", "query": "SELECT phone FROM people", "content": "Hi",
              "campaign_id": "c1", "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy"}
    job = REPOSITORY.get_job("campaign_job")
    assert validate_run_config(job, {"ops": {"send_campaign": {"config": config}}})
    for required in ("source", "query", "campaign_id"):  # content or variants: checked by the campaign (exit 2)
        partial = {key: value for key, value in config.items() if key != required}
        with pytest.raises(DagsterInvalidConfigError, match=required):
            validate_run_config(job, {"ops": {"send_campaign": {"config": partial}}})


def test_a_declared_campaign_sends_once_per_scheduled_day(
    emulator, data_dir: Path, declared_job, instance: DagsterInstance
) -> None:
    job = declared_job("monthly_offer")
    first_of_month = {"ops": {"run_monthly_offer": {"config": {"scheduled_for": "2027-01-01T09:00:00+00:00"}}}}
    assert job.execute_in_process(run_config=first_of_month, instance=instance).success
    assert job.execute_in_process(run_config=first_of_month, instance=instance).success  # a rerun: resumed, not resent
    assert sorted(row["address"] for row in emulator.messages()) == PHONES
    open_journal(str(data_dir / "journal.sqlite")).close()  # a second campaign needs an opt-out source
    next_month = {"ops": {"run_monthly_offer": {"config": {"scheduled_for": "2027-02-01T09:00:00+00:00"}}}}
    assert job.execute_in_process(run_config=next_month, instance=instance).success
    assert sorted(row["address"] for row in emulator.messages()) == sorted(PHONES * 2)
    ledger = sqlite3.connect(data_dir / "campaigns.sqlite")
    assert {row[0] for row in ledger.execute("SELECT campaign_id FROM campaigns")} == {
        "monthly_offer-2027-01-01", "monthly_offer-2027-02-01"}
    ledger.close()


def test_campaign_job_sends_once_and_a_rerun_resumes_without_resending(
    emulator, instance: DagsterInstance, data_dir: Path, crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_URL", crm)
    config = {"ops": {"send_campaign": {"config": {
        "source": "env:CRM_URL", "query": "SELECT phone, first_name FROM people", "content": "Hi {{first_name}}",
        "campaign_id": "dagster-test", "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy",
    }}}}
    job = REPOSITORY.get_job("campaign_job")
    assert job.execute_in_process(run_config=config, instance=instance).success
    assert job.execute_in_process(run_config=config, instance=instance).success
    sent = emulator.messages()
    assert sorted(row["address"] for row in sent) == PHONES
    assert {row["content"] for row in sent} == {"Hi Name0", "Hi Name1", "Hi Name2"}


def test_campaign_job_sends_variants_and_keeps_the_holdout(
    emulator, instance: DagsterInstance, data_dir: Path, crm: str
) -> None:
    config = {"ops": {"send_campaign": {"config": {
        "source": crm, "query": "SELECT phone, first_name FROM people", "variants": ["A=Hi {{first_name}}", "B=Yo {{first_name}}"],
        "holdout": "40%", "campaign_id": "dagster-ab3", "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy",
    }}}}
    result = REPOSITORY.get_job("campaign_job").execute_in_process(run_config=config, instance=instance)
    assert result.success
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(message.startswith("  holdout 40 %:") for message in messages), messages
    held = dict(ledger_rows(data_dir / "campaigns.sqlite", "SELECT address, held_out FROM campaign_assignments"))
    sent = {row["address"]: row["content"] for row in emulator.messages()}
    assert set(sent) == {address for address, flag in held.items() if not flag} and len(held) == len(PHONES)
    assert sent == {"+358401110001": "Yo Name0", "+358401110003": "Hi Name2"}  # B, A; +358401110002 held out


def test_campaign_job_fails_with_the_campaigns_error(instance: DagsterInstance, data_dir: Path, tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    config = {"ops": {"send_campaign": {"config": {
        "source": "sqlite:///" + str(tmp_path / "empty.sqlite"), "query": "SELECT phone FROM nowhere",
        "content": "x", "campaign_id": "broken", "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy",
    }}}}
    result = REPOSITORY.get_job("campaign_job").execute_in_process(
        run_config=config, instance=instance, raise_on_error=False
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    error = failure.event_specific_data.error.cause
    assert error.cls_name == "CrmUsageError" and "no such table: nowhere" in error.message
    assert not [event for event in result.all_events if event.event_type_value == "STEP_UP_FOR_RETRY"]


def test_a_declared_contact_sync_job_creates_the_group_contacts(
    emulator, data_dir: Path, declared_job, instance: DagsterInstance
) -> None:
    job = declared_job("crm_nightly")
    result = job.execute_in_process(run_config={"ops": {"run_crm_nightly": {"config": {}}}}, instance=instance)
    assert result.success
    assert sorted(contact["phone"] for contact in emulator.contacts()) == PHONES
    # In-process: the library's progress callbacks log to Dagster (a child `sdsync` would print tables instead).
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(message.startswith("run 1 completed: creates 3") for message in messages), messages
    assert any(message.startswith("crm_nightly: completed: creates 3") for message in messages), messages


def test_campaign_job_sends_at_each_recipients_local_time(
    emulator, instance: DagsterInstance, data_dir: Path, crm: str
) -> None:
    config = {"ops": {"send_campaign": {"config": {
        "source": crm, "query": "SELECT phone FROM people", "content": "Hi", "campaign_id": "dagster-local",
        "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy", "at": f"{NEXT_YEAR}-01-15", "local_time": "09:00",
    }}}}
    assert REPOSITORY.get_job("campaign_job").execute_in_process(run_config=config, instance=instance).success
    assert {row["send_at"] for row in emulator.messages()} == {f"{NEXT_YEAR}-01-15T07:00:00+00:00"}  # 09:00 in Helsinki


def test_campaign_job_takes_the_purpose_spread_and_proof_options(
    emulator, instance: DagsterInstance, data_dir: Path, crm: str
) -> None:
    config = {"ops": {"send_campaign": {"config": {
        "source": crm, "query": "SELECT phone FROM people", "content": "Order update", "campaign_id": "dagster-audience",
        "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy", "at": f"{NEXT_YEAR}-01-15T10:00:00Z",
        "batch_size": 1, "purpose": "transactional", "frequency_cap": "1/7d", "spread": "3h", "proof_to": "+358401234567",
    }}}}
    assert REPOSITORY.get_job("campaign_job").execute_in_process(run_config=config, instance=instance).success
    sent = {row["address"]: row["send_at"] for row in emulator.messages()}
    assert sent.pop("+358401234567") < f"{NEXT_YEAR}-01-15T10:00" and len(sent) == 3  # the proof went at once
    assert sorted(sent.values()) == [f"{NEXT_YEAR}-01-15T{hour}:00:00+00:00" for hour in (10, 11, 12)]
