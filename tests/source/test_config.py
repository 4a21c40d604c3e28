"""The source's settings the dlt way: [sources.smartdialog] (toml or SOURCES__SMARTDIALOG__* env), over the
shared [smartdialog], read only when an API resource runs; the group-contact call budget."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from smartdialog_sync.pipelines.pull_pipeline import PullFailed, PullOptions, run_pull
from smartdialog_sync.sources.smartdialog import configured_settings

from smartdialog_sync.errors import EXIT_USAGE
from smartdialog_sync.journal import InboundRow, SQLiteJournal
from tests.api.wire_server import Reply, WireServer
from tests.support.cli import clean_env, run_sdsync

CUSTOMERS = {"customerUsers": [{"customerId": "c1", "customerName": "One"}]}
SETTING_PREFIXES = ("SMARTDIALOG__", "SOURCES__")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection setting leaks in from the environment of the test run."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def wire() -> Iterator[WireServer]:
    """A recording HTTP server answering GetUserCustomers with one customer."""
    with WireServer() as server:
        server.default = Reply(200, CUSTOMERS)
        yield server


def _customers_pull(data_dir: Path) -> None:
    run_pull(PullOptions(resources=["customers"], settings={"data_dir": str(data_dir)}))


def test_source_section_env_reaches_the_server_with_its_token(wire, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCES__SMARTDIALOG__BASE_URL", wire.base_url)
    monkeypatch.setenv("SOURCES__SMARTDIALOG__ACCESS_TOKEN", "token-of-the-source")
    monkeypatch.setenv("SMARTDIALOG__ACCESS_TOKEN", "shared-token")  # the more specific section wins
    _customers_pull(tmp_path / "data")
    request = wire.only()
    assert request.path == "/api-integrations/v1/customers"
    assert request.headers["Authorization"] == "Bearer token-of-the-source"


def test_shared_section_is_still_honoured(wire, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SMARTDIALOG__BASE_URL", wire.base_url)
    monkeypatch.setenv("SMARTDIALOG__ACCESS_TOKEN", "shared-token")
    _customers_pull(tmp_path / "data")
    assert wire.only().headers["Authorization"] == "Bearer shared-token"


def test_each_config_layer_of_the_base_url_reaches_the_source_in_order(wire, tmp_path, monkeypatch) -> None:
    """[smartdialog] < [sources.smartdialog] < [sources.smartdialog.credentials] < the caller's settings: the
    layers below the one that wins name a port where nothing listens."""
    nowhere = "http://127.0.0.1:9/api-integrations/v1"
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SMARTDIALOG__ACCESS_TOKEN", "shared-token")
    monkeypatch.setenv("SMARTDIALOG__BASE_URL", wire.base_url)
    _customers_pull(data_dir)
    monkeypatch.setenv("SMARTDIALOG__BASE_URL", nowhere)
    monkeypatch.setenv("SOURCES__SMARTDIALOG__BASE_URL", wire.base_url)
    _customers_pull(data_dir)
    monkeypatch.setenv("SOURCES__SMARTDIALOG__BASE_URL", nowhere)
    monkeypatch.setenv("SOURCES__SMARTDIALOG__CREDENTIALS__BASE_URL", wire.base_url)
    _customers_pull(data_dir)
    monkeypatch.setenv("SOURCES__SMARTDIALOG__CREDENTIALS__BASE_URL", nowhere)
    run_pull(PullOptions(resources=["customers"], settings={"data_dir": str(data_dir), "base_url": wire.base_url}))
    assert [request.headers["Authorization"] for request in wire.requests] == ["Bearer shared-token"] * 4


def test_a_credentials_key_set_to_its_default_still_wins(monkeypatch) -> None:
    monkeypatch.setenv("SOURCES__SMARTDIALOG__RATE_LIMIT", "5/1")
    monkeypatch.setenv("SOURCES__SMARTDIALOG__CREDENTIALS__RATE_LIMIT", "100/60")  # the default
    assert str(configured_settings({}).rate_limit) == "100/60"
    assert str(configured_settings({"rate_limit": "7/1"}).rate_limit) == "7/1", "the caller's value wins"


def test_source_section_in_dlt_toml_files_through_the_cli(wire, tmp_path) -> None:
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "config.toml").write_text(f'[sources.smartdialog]\nbase_url = "{wire.base_url}"\n')
    (project / ".dlt" / "secrets.toml").write_text('[sources.smartdialog]\naccess_token = "token-from-secrets-toml"\n')
    done = run_sdsync(clean_env(), "--data-dir", str(tmp_path / "data"), "pull", "--resources", "customers", cwd=project)
    assert done.returncode == 0, done.stderr
    assert wire.only().headers["Authorization"] == "Bearer token-from-secrets-toml"
    assert "token-from-secrets-toml" not in done.stdout + done.stderr


def _journal_with_one_message(data_dir: Path) -> None:
    journal = SQLiteJournal(data_dir / "journal.sqlite")
    journal.write_batch([InboundRow("m1", None, None, "x", "SMS", None, None, 1)], [])
    journal.close()


def test_journal_resources_need_no_api_credentials(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCES__SMARTDIALOG__BASE_URL", "https://api.example.invalid/api-integrations/v1")
    data_dir = tmp_path / "data"
    _journal_with_one_message(data_dir)
    result = run_pull(PullOptions(resources=["inbound_messages"], settings={"data_dir": str(data_dir)}))
    assert result.rows["inbound_messages"] == 1

    with pytest.raises(PullFailed, match="no credentials") as failed:
        run_pull(PullOptions(resources=["customers"], settings={"data_dir": str(data_dir)}))
    assert failed.value.step == "extract" and failed.value.exit_code == EXIT_USAGE


def test_data_dir_from_the_source_section(tmp_path, monkeypatch) -> None:
    data_dir = tmp_path / "elsewhere"
    _journal_with_one_message(data_dir)
    monkeypatch.setenv("SOURCES__SMARTDIALOG__DATA_DIR", str(data_dir))
    result = run_pull(PullOptions(resources=["inbound_messages"]))
    assert result.rows["inbound_messages"] == 1
    assert result.pipelines_dir == data_dir.resolve() / "pipelines"
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM smartdialog.inbound_messages").fetchone() == (1,)


# --- the group-contact call budget --------------------------------------------------------------------

PHONES = [f"+3584011{index:05d}" for index in range(60)]


def _contact_calls(emulator) -> int:
    return emulator.stats()["calls_by_operation"].get("GetGroupContact", 0)


def _sdsync_pull_contacts(emulator, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
    done = run_sdsync(clean_env(**(env or {})), "--data-dir", str(data_dir), "--base-url", emulator.base_url, "pull",
                      "--resources", "group_contacts", "--group-customer", "demo-customer", "--group-service", "crm-group",
                      *[arg for phone in PHONES for arg in ("--phone", phone)], *args, timeout=300)
    assert done.returncode == 0, done.stderr


def test_group_contacts_default_budget_is_50_calls(emulator, tmp_path) -> None:
    before = _contact_calls(emulator)
    _sdsync_pull_contacts(emulator, tmp_path / "data")
    assert _contact_calls(emulator) - before == 50


def test_group_contacts_budget_from_the_environment_is_not_overridden_by_the_unset_flag(emulator, tmp_path) -> None:
    before = _contact_calls(emulator)
    _sdsync_pull_contacts(emulator, tmp_path / "data", env={"SOURCES__SMARTDIALOG__MAX_CALLS": "3"})
    assert _contact_calls(emulator) - before == 3
    _sdsync_pull_contacts(emulator, tmp_path / "data", "--max-calls", "2", env={"SOURCES__SMARTDIALOG__MAX_CALLS": "3"})
    assert _contact_calls(emulator) - before == 3 + 2, "the flag wins when it is given"
