"""Opt-outs through the real chain: an inbound STOP at the emulator, its webhook to a real receiver, `sdsync pull`
into DuckDB or PostgreSQL, and `sdsync send` leaving that number out; unreadable opt-outs refuse the send."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pytest
import sqlalchemy

from smartdialog_sync.destinations.campaigns.suppression import OptOutsUnavailable, opt_out_sources, opted_out_numbers
from tests.campaigns.helpers import STOPPED, deliver_stop, make_crm, phone, send_hello
from tests.support.cli import emulator_env, run_sdsync
from tests.postgres import postgres_database
from tests.receiver.harness import receiver_factory  # noqa: F401



def sends(emulator: Any) -> int:
    return emulator.stats()["calls_by_operation"].get("SendMessage", 0)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def journal(emulator: Any, receiver_factory: Any, data_dir: Path) -> str:  # noqa: F811
    """The receiver's journal after the emulator delivered an inbound STOP from STOPPED (and a hello) to it."""
    journal_path = str(data_dir / "journal.sqlite")
    deliver_stop(emulator, receiver_factory, "Stop!", data_dir, journal_path)
    return journal_path


@pytest.fixture
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL database for the pulled dataset, its URL with a password (dlt's config wants one)."""
    for url in postgres_database():
        parsed = sqlalchemy.make_url(url)
        yield parsed.set(password=parsed.password or "unused").render_as_string(hide_password=False)


def pull(env: dict[str, str], journal: str, *destination: str) -> None:
    result = run_sdsync(env, "pull", "--journal", journal, "--resources", "inbound_messages", *destination)
    assert result.returncode == 0, result.stderr + result.stdout


def assert_stop_left_out(emulator: Any, result: Any) -> None:
    assert result.returncode == 0, result.stderr + result.stdout
    assert "opted_out 1" in result.stdout and "1 opted-out number(s) from" in result.stdout
    addresses = {message["address"] for message in emulator.messages()}
    assert STOPPED not in addresses and addresses == {phone(i) for i in range(10) if i != 5}


def test_a_stop_pulled_into_duckdb_is_left_out(emulator, journal, data_dir, tmp_path) -> None:
    env = emulator_env(emulator, data_dir)
    pull(env, journal)
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    result = send_hello(env, crm, "duck")
    assert_stop_left_out(emulator, result)
    assert f"from {data_dir / 'sdsync.duckdb'}" in result.stdout


def test_a_stop_pulled_into_postgres_is_read_through_the_pulls_dlt_credentials(
        emulator, journal, data_dir, tmp_path, postgres) -> None:
    env = emulator_env(emulator, data_dir) | {"DESTINATION__POSTGRES__CREDENTIALS": postgres}
    pull(env, journal, "--destination", "postgres")
    assert not (data_dir / "sdsync.duckdb").exists()
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    result = send_hello(env, crm, "pg")
    assert_stop_left_out(emulator, result)
    assert "postgres dataset smartdialog at postgresql://postgres:***@" in result.stdout


def test_unreadable_opt_outs_refuse_the_send_until_a_url_is_given(emulator, journal, data_dir, tmp_path, postgres) -> None:
    env = emulator_env(emulator, data_dir)
    pull(env, journal, "--destination", "postgres", "--credentials", postgres)  # credentials not kept anywhere
    crm = make_crm(tmp_path / "crm.sqlite", 10)

    refused = send_hello(env, crm, "pg-refused")
    assert refused.returncode == 2, refused.stderr + refused.stdout
    [error] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: cannot read opt-outs: the pull loaded into postgres dataset smartdialog")
    assert error.endswith("set them or --opt-outs-url / [campaigns] opt_outs_url"), "one whole line"
    closed = sqlalchemy.make_url(postgres).set(port=9).render_as_string(hide_password=False)
    down = send_hello(env | {"CAMPAIGNS__OPT_OUTS_URL": closed}, crm, "pg-down")
    assert down.returncode == 2 and "cannot read opt-outs from postgresql://postgres:***@127.0.0.1:9/" in down.stderr
    assert "unused" not in down.stderr + down.stdout, "no password in messages"
    assert sends(emulator) == 0

    result = send_hello(env, crm, "pg-url", "--opt-outs-url", postgres)
    assert_stop_left_out(emulator, result)


def test_a_dataset_locked_by_a_running_pull_refuses_the_send(tmp_path) -> None:
    dataset = tmp_path / "sdsync.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); sys.stdin.read()", str(dataset)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        [source] = opt_out_sources(tmp_path, dataset)
        with pytest.raises(OptOutsUnavailable, match="cannot read opt-outs from .*sdsync.duckdb: .*lock") as refused:
            opted_out_numbers(source, ("STOP",))
        assert refused.value.exit_code == 2
    finally:
        holder.communicate("")


def test_an_explicit_url_without_inbound_messages_refuses_and_never_shows_its_password(tmp_path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    [source] = opt_out_sources(tmp_path, tmp_path / "none.duckdb", f"duckdb:///{empty}")
    with pytest.raises(OptOutsUnavailable, match="has no inbound_messages table"):
        opted_out_numbers(source, ("STOP",))
    [secret] = opt_out_sources(tmp_path, empty, "postgresql://sdsync:pw-8f2c@127.0.0.1:9/x")
    assert "pw-8f2c" not in repr(secret) + secret.label
