"""Opt-outs from the state: a STOP the real receiver journaled is honoured by the next `sdsync send` with no pull
in between, from the shared PostgreSQL (another, empty data dir) or the data dir's journal.sqlite; a customer
that was sent campaigns before is refused a send that finds no opt-out source; PostgreSQL URLs without a
password (PGPASSWORD, ~/.pgpass) work for the receiver, the pull and the send, checked against a server that
demands the password."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy

from smartdialog_sync.journal import open_journal
from tests.campaigns.helpers import deliver_stop, make_crm, phone, send_hello
from tests.support.cli import emulator_env, run_sdsync
from tests.receiver.harness import postgres_url, receiver_factory  # noqa: F401
from tests.servers import free_port

PASSWORD = "x-7d1e"


def sent_to(emulator: Any) -> set[str]:
    return {message["address"] for message in emulator.messages()}


def assert_stop_left_out(emulator: Any, result: Any, count: int = 10) -> None:
    assert result.returncode == 0, result.stderr + result.stdout
    assert "opted_out 1" in result.stdout, result.stdout
    assert sent_to(emulator) == {phone(i) for i in range(count) if i != 5}


def test_a_stop_in_the_shared_state_is_honoured_by_a_send_from_another_empty_data_dir(
        emulator, receiver_factory, tmp_path, postgres_url) -> None:  # noqa: F811
    state = postgres_url
    # The receiver keeps its journal in the state (`--journal` repeats it for a serve that predates state_url).
    deliver_stop(emulator, receiver_factory, " stop! ", tmp_path / "machine-a", state, SMARTDIALOG__STATE_URL=state)
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    other = tmp_path / "machine-b"
    env = emulator_env(emulator, other) | {"SMARTDIALOG__STATE_URL": state}

    dry = send_hello(env, crm, "shared-dry", "--dry-run")
    assert dry.returncode == 0, dry.stderr + dry.stdout
    [line] = [line for line in dry.stdout.splitlines() if "suppression: 1 opted-out number(s) from the journal" in line]
    assert "postgresql://postgres@127.0.0.1" in line and "latest 20" in line, line

    result = send_hello(env, crm, "shared")
    assert_stop_left_out(emulator, result)
    assert "1 opted-out number(s) from the journal postgresql://" in result.stdout
    assert not (other / "pipelines").exists() and not (other / "journal.sqlite").exists(), "no pull, no local journal"


def test_a_stop_in_the_data_dirs_journal_is_honoured_without_a_pull(emulator, receiver_factory, tmp_path) -> None:  # noqa: F811
    data_dir = tmp_path / "data"
    deliver_stop(emulator, receiver_factory, " stop! ", data_dir, None)
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    result = send_hello(emulator_env(emulator, data_dir), crm, "local")
    assert_stop_left_out(emulator, result)
    assert f"suppression: 1 opted-out number(s) from the journal {data_dir / 'journal.sqlite'}" in result.stdout
    assert f"no opt-outs read: nothing pulled yet (no {data_dir / 'sdsync.duckdb'}" in result.stdout
    assert not (data_dir / "pipelines").exists() and not (data_dir / "sdsync.duckdb").exists()


def test_a_customer_sent_to_before_is_refused_a_send_without_any_opt_out_source(emulator, tmp_path) -> None:
    data_dir = tmp_path / "data"
    env = emulator_env(emulator, data_dir)
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    journal, dataset = data_dir / "journal.sqlite", data_dir / "sdsync.duckdb"

    first = send_hello(env, crm, "first")
    assert first.returncode == 0, first.stderr + first.stdout
    assert f"suppression: no opt-outs read: no journal at {journal} yet" in first.stdout
    assert ("suppression: no opt-out source found: sent without opt-outs, as no campaign was sent for this customer "
            "before") in first.stdout
    assert len(emulator.messages()) == 10

    refused = send_hello(env, crm, "second")
    assert refused.returncode == 2, refused.stderr + refused.stdout
    [error] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert "no opt-out source found, but campaigns were sent for customer demo-customer before: nothing sent" in error
    for place in (f"the journal {journal} (no journal there)", f"{dataset} (nothing pulled there)",
                  "--opt-outs-url / [campaigns] opt_outs_url (not set)"):
        assert place in error, error
    assert len(emulator.messages()) == 10, "nothing more sent"
    assert not journal.exists() and not dataset.exists(), "looking never creates a store"

    dry = send_hello(env, crm, "second", "--dry-run")
    assert dry.returncode == 2 and "no opt-out source found" in dry.stderr, "a dry run says so too"

    elsewhere = tmp_path / "receiver" / "journal.sqlite"  # where a receiver keeps it, as the pull is told
    open_journal(elsewhere).close()
    found = send_hello(env | {"SOURCES__SMARTDIALOG__JOURNAL_URL": str(elsewhere)}, crm, "second")
    assert found.returncode == 0, found.stderr + found.stdout
    assert f"suppression: 0 opted-out number(s) from the journal {elsewhere}" in found.stdout


# --- PostgreSQL URLs without a password, against a server that demands one -------------------------------------


def _postgres_bin() -> Path | None:
    given = os.environ.get("SDSYNC_TEST_PG_BIN")
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    initdb = Path(given) / "initdb" if given else (found[-1] if found else shutil.which("initdb"))
    return Path(initdb).parent if initdb and Path(initdb).exists() else None


@pytest.fixture(scope="module")
def password_server() -> Iterator[dict[str, Any]]:
    """A throwaway PostgreSQL of its own that demands passwords (scram-sha-256), with a role sdsync_pw that has
    one and owns the database `optouts`; skips without PostgreSQL's server programs."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server programs (initdb) to start a server with password authentication")
    as_root = os.geteuid() == 0
    if as_root and subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        pytest.skip("running as root without a postgres user to start a server as")
    folder = Path(tempfile.mkdtemp(prefix="sdsync-pgpw."))
    port = free_port()
    (folder / "pw").write_text("admin-pw\n")
    if as_root:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "pw", "postgres")

    def run(command: str) -> None:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", command] if as_root else ["sh", "-c", command]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    data = folder / "data"
    run(f"{bin_dir}/initdb -D {data} -U postgres --auth=scram-sha-256 --pwfile={folder}/pw")
    run(f"{bin_dir}/pg_ctl -D {data} -l {folder}/log -w -o '-p {port} -k {folder} -c listen_addresses=127.0.0.1 "
        f"-c fsync=off -c max_connections=40' start")
    try:
        admin = sqlalchemy.create_engine(f"postgresql://postgres:admin-pw@127.0.0.1:{port}/postgres",
                                         isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE ROLE sdsync_pw LOGIN PASSWORD '{PASSWORD}'"))
            conn.execute(sqlalchemy.text("CREATE DATABASE optouts OWNER sdsync_pw"))
        admin.dispose()
        yield {"port": port, "url": f"postgresql://sdsync_pw@127.0.0.1:{port}/optouts"}
    finally:
        run(f"{bin_dir}/pg_ctl -D {data} -m fast -w stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("password_from", ["PGPASSWORD", "pgpass"])
def test_urls_without_a_password_work_for_the_receiver_the_pull_and_the_send(
        emulator, receiver_factory, tmp_path, password_server, password_from) -> None:  # noqa: F811
    url = password_server["url"]
    assert ":" not in url.split("//", 1)[1].split("@", 1)[0], "no password in the URL"
    if password_from == "PGPASSWORD":
        secret = {"PGPASSWORD": PASSWORD}
    else:
        home = tmp_path / "home"
        home.mkdir()
        (home / ".pgpass").write_text(f"127.0.0.1:{password_server['port']}:optouts:sdsync_pw:{PASSWORD}\n")
        (home / ".pgpass").chmod(0o600)
        secret = {"HOME": str(home)}
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with pytest.raises(sqlalchemy.exc.OperationalError, match="password"):
        engine.connect().close()  # the server demands the password: every step below proves it was found

    # The receiver journals into the state (a URL without a password) ...
    deliver_stop(emulator, receiver_factory, " stop! ", tmp_path / "receiver", url, **secret, SMARTDIALOG__STATE_URL=url)
    # ... a pull loads it into a PostgreSQL dataset given the dlt way, without a password ...
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    puller = tmp_path / "puller"
    env = {key: value for key, value in emulator_env(emulator, puller).items() if key not in ("PGPASSWORD", "PGPASSFILE")}
    env |= secret | {"DESTINATION__POSTGRES__CREDENTIALS": url}
    pulled = run_sdsync(env, "pull", "--journal", url, "--resources", "inbound_messages", "--destination", "postgres")
    assert pulled.returncode == 0, pulled.stderr + pulled.stdout

    # ... and a send from the pull's data dir reads both: the state's journal and the pulled dataset.
    result = send_hello(env | {"SMARTDIALOG__STATE_URL": url}, crm, f"nopw-{password_from}")
    assert_stop_left_out(emulator, result)
    assert "1 opted-out number(s) from the journal postgresql://sdsync_pw@127.0.0.1" in result.stdout
    assert "1 opted-out number(s) from postgres dataset smartdialog at postgresql://sdsync_pw" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr

    # Without the password anywhere the shared state itself (ledger, journal) cannot be opened: nothing is sent.
    sent = len(emulator.messages())
    blind = send_hello({key: value for key, value in env.items() if key != "HOME"} | {"SMARTDIALOG__STATE_URL": url}
                 | ({"PGPASSWORD": ""} if password_from == "PGPASSWORD" else {}), crm, f"blind-{password_from}")
    assert blind.returncode == 1 and "cannot use the state database" in blind.stderr, blind.stderr + blind.stdout
    assert "no password supplied" in blind.stderr and len(blind.stderr.strip().splitlines()) == 1, blind.stderr
    assert len(emulator.messages()) == sent
