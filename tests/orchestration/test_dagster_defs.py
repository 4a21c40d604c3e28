"""The Dagster definitions: jobs and schedules load, schedules build valid run config, jobs really run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
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

from smartdialog_sync.pipelines.orchestration.dagster_defs import CONTACTS_ENV, defs  # noqa: E402
from smartdialog_sync.journal import open_journal  # noqa: E402
from smartdialog_sync.receiver.payloads import inbound_row  # noqa: E402

CUSTOMER = "demo-customer"
PHONES = ["+358401110001", "+358401110002", "+358401110003"]


REPOSITORY = defs.get_repository_def()


@pytest.fixture
def instance() -> DagsterInstance:
    with instance_for_test() as temporary:
        yield temporary


@pytest.fixture
def sdsync_env(emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the settings (in this process and in `sdsync` child processes) at the emulator and `tmp_path`."""
    for name, value in {
        "SMARTDIALOG__BASE_URL": emulator.base_url, "SMARTDIALOG__ACCESS_TOKEN": emulator.token,
        "SMARTDIALOG__RATE_LIMIT": "1000/1", "SMARTDIALOG__DATA_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def crm(tmp_path: Path) -> str:
    path = tmp_path / "crm.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE people (phone TEXT, first_name TEXT)")
    connection.executemany("INSERT INTO people VALUES (?, ?)", [(phone, f"Name{i}") for i, phone in enumerate(PHONES)])
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def test_definitions_have_the_jobs_and_schedules() -> None:
    assert {job.name for job in REPOSITORY.get_all_jobs()} == {"pull_job", "contacts_sync_job", "campaign_job"}
    schedules = {schedule.name: schedule for schedule in REPOSITORY.schedule_defs}
    assert schedules["hourly_pull"].cron_schedule == "0 * * * *"
    assert schedules["hourly_pull"].job_name == "pull_job"
    assert schedules["nightly_contacts_sync"].cron_schedule == "0 2 * * *"
    assert schedules["nightly_contacts_sync"].job_name == "contacts_sync_job"


def test_campaign_job_requires_the_campaign_config() -> None:
    config = {"source": "sqlite:///crm.sqlite", "query": "SELECT phone FROM people", "content": "Hi",
              "campaign_id": "c1", "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy"}
    job = REPOSITORY.get_job("campaign_job")
    assert validate_run_config(job, {"ops": {"send_campaign": {"config": config}}})
    for required in ("source", "query", "content", "campaign_id"):
        partial = {key: value for key, value in config.items() if key != required}
        with pytest.raises(DagsterInvalidConfigError, match=required):
            validate_run_config(job, {"ops": {"send_campaign": {"config": partial}}})


def test_nightly_sync_skips_until_configured_then_requests_a_valid_run(
    instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = REPOSITORY.get_schedule_def("nightly_contacts_sync")
    for name in CONTACTS_ENV.values():
        monkeypatch.delenv(name, raising=False)
    skipped = schedule.evaluate_tick(build_schedule_context(instance=instance))
    assert not skipped.run_requests and "SDSYNC_CONTACTS_CUSTOMER" in skipped.skip_message
    monkeypatch.setenv("SDSYNC_CONTACTS_SOURCE", "env:CRM_URL")
    monkeypatch.setenv("SDSYNC_CONTACTS_QUERY", "SELECT phone FROM people")
    monkeypatch.setenv("SDSYNC_CONTACTS_CUSTOMER", CUSTOMER)
    monkeypatch.setenv("SDSYNC_CONTACTS_GROUP_SERVICE", "crm-group")
    [request] = schedule.evaluate_tick(build_schedule_context(instance=instance)).run_requests
    assert request.run_config["ops"]["contacts_sync"]["config"]["source"] == "env:CRM_URL"
    assert validate_run_config(REPOSITORY.get_job("contacts_sync_job"), request.run_config)


def test_hourly_pull_runs_the_pull_in_process(instance: DagsterInstance, sdsync_env: Path) -> None:
    journal = open_journal(str(sdsync_env / "journal.sqlite"))
    body = b'{"messageId": "m-1", "sender": "+358401110001", "recipient": "+358401000001", "content": "hi"}'
    journal.write_batch([inbound_row(body)], [])
    journal.close()
    [request] = REPOSITORY.get_schedule_def("hourly_pull").evaluate_tick(build_schedule_context(instance=instance)).run_requests
    config = request.run_config
    config["ops"]["pull"]["config"] = {"resources": ["inbound_messages"]}
    result = REPOSITORY.get_job("pull_job").execute_in_process(run_config=config, instance=instance)
    assert result.success
    with duckdb.connect(str(sdsync_env / "sdsync.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT message_id, content FROM smartdialog.inbound_messages").fetchall() == [("m-1", "hi")]


def test_campaign_job_sends_once_and_a_rerun_resumes_without_resending(
    emulator, instance: DagsterInstance, sdsync_env: Path, crm: str, monkeypatch: pytest.MonkeyPatch
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


def test_campaign_job_fails_with_the_campaigns_error(instance: DagsterInstance, sdsync_env: Path) -> None:
    sqlite3.connect(sdsync_env / "empty.sqlite").close()
    config = {"ops": {"send_campaign": {"config": {
        "source": "sqlite:///" + str(sdsync_env / "empty.sqlite"), "query": "SELECT phone FROM nowhere",
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


def test_contacts_sync_job_creates_the_group_contacts(
    emulator, instance: DagsterInstance, sdsync_env: Path, crm: str
) -> None:
    config = {"ops": {"contacts_sync": {"config": {
        "source": crm, "query": "SELECT phone, first_name FROM people", "customer": CUSTOMER, "group_service": "crm-group",
    }}}}
    result = REPOSITORY.get_job("contacts_sync_job").execute_in_process(run_config=config, instance=instance)
    assert result.success
    assert sorted(contact["phone"] for contact in emulator.contacts()) == PHONES
    # In-process: the library's progress callbacks log to Dagster (a child `sdsync` would print tables instead).
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(message.startswith("run 1 completed: creates 3") for message in messages), messages


def test_campaign_job_sends_at_each_recipients_local_time(
    emulator, instance: DagsterInstance, sdsync_env: Path, crm: str
) -> None:
    config = {"ops": {"send_campaign": {"config": {
        "source": crm, "query": "SELECT phone FROM people", "content": "Hi", "campaign_id": "dagster-local",
        "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy", "at": "2027-01-15", "local_time": "09:00",
    }}}}
    assert REPOSITORY.get_job("campaign_job").execute_in_process(run_config=config, instance=instance).success
    assert {row["send_at"] for row in emulator.messages()} == {"2027-01-15T07:00:00+00:00"}  # 09:00 in Helsinki


def test_campaign_job_takes_the_purpose_spread_and_proof_options(
    emulator, instance: DagsterInstance, sdsync_env: Path, crm: str
) -> None:
    config = {"ops": {"send_campaign": {"config": {
        "source": crm, "query": "SELECT phone FROM people", "content": "Order update", "campaign_id": "dagster-audience",
        "customer": CUSTOMER, "service": "sms-oneway", "sender": "DemoOy", "at": "2027-01-15T10:00:00Z",
        "batch_size": 1, "purpose": "transactional", "frequency_cap": "1/7d", "spread": "3h", "proof_to": "+358401234567",
    }}}}
    assert REPOSITORY.get_job("campaign_job").execute_in_process(run_config=config, instance=instance).success
    sent = {row["address"]: row["send_at"] for row in emulator.messages()}
    assert sent.pop("+358401234567") < "2027" and len(sent) == 3  # the proof went at once
    assert sorted(sent.values()) == ["2027-01-15T10:00:00+00:00", "2027-01-15T11:00:00+00:00", "2027-01-15T12:00:00+00:00"]
