"""The contact state shared in PostgreSQL by machines with data dirs of their own: resume anywhere, one
runner per group, moving a local state in, and `--state` URLs that are not ours."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from smartdialog_sync.destinations.contacts.state import migrate_contact_state
from smartdialog_sync.state.migration import StateConflict
from tests.support.cli import Sdsync, clean_env, run_sdsync

from .crm import contact, sqlite_crm
from .state_db import postgres_state_database, query_state
from .sync_cli import SyncCli, expected_group


@pytest.fixture
def shared_state():
    with postgres_state_database() as url:
        yield url


def machine(emulator, crm, tmp_path, name: str, state) -> SyncCli:
    """A runner of its own (working folder and empty data dir `name`) using `state`."""
    workdir = tmp_path / name
    workdir.mkdir()
    return SyncCli(emulator, crm, workdir, state=state)


def wait_for_calls(emulator, at_least: int, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while emulator.stats()["calls_total"] < at_least and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_killed_on_one_machine_resumed_on_another_does_only_what_is_left(start_emulator, tmp_path, shared_state):
    emulator = start_emulator(rate_limit="100000/60")
    emulator.set_faults(latency_ms=5)
    crm = sqlite_crm(tmp_path)
    rows = [contact(n) for n in range(1, 401)]
    crm.write(rows)
    a = machine(emulator, crm, tmp_path, "a", shared_state)
    process = a.start()
    wait_for_calls(emulator, 150, process)
    assert process.poll() is None, (a.workdir / "sdsync.log").read_text()[-2000:]
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    first = emulator.stats()
    in_flight = query_state(shared_state, "SELECT count(*) FROM contact_ops WHERE status = 'inflight'")[0][0]
    done_on_a = query_state(shared_state, "SELECT count(*) FROM contact_ops WHERE status = 'done'")[0][0]
    assert done_on_a >= 100

    b = machine(emulator, crm, tmp_path, "b", shared_state)  # an empty data dir: only the state is shared
    assert not b.data_dir.exists()
    b.run()
    assert b.group() == expected_group(rows)
    stats = emulator.stats()
    # responses_by_status counts answered calls only: a request the kill cut mid-body is not among them.
    unanswered = stats["calls_total"] - sum(stats["responses_by_status"].values())
    creates = stats["calls_by_operation"]["CreateGroupContact"]
    # Every contact created once; a call repeated only where the kill cut it before its answer.
    assert 400 <= creates <= 400 + unanswered, stats
    assert "409" not in stats["responses_by_status"], stats
    assert stats["calls_by_operation"].get("GetGroupContact", 0) == in_flight  # one read per op left in flight
    run = b.last_run()
    assert run["reconciled"] == in_flight
    # B plans only the contacts A had not confirmed: no re-create (and 409) of what A did.
    assert run["calls"] == stats["calls_total"] - first["calls_total"]
    assert 400 - done_on_a <= run["calls"] <= 400 - done_on_a + in_flight, (run, done_on_a, in_flight)

    before = emulator.stats()["calls_total"]
    a.run()  # back on the first machine: nothing left to do
    assert emulator.stats()["calls_total"] == before


def test_two_machines_syncing_one_group_at_once_one_runs_the_other_exits_1_naming_it(emulator, tmp_path, shared_state):
    emulator.set_faults(latency_ms=100)
    crm = sqlite_crm(tmp_path)
    rows = [contact(n) for n in range(1, 301)]
    crm.write(rows)
    a = machine(emulator, crm, tmp_path, "a", shared_state)
    b = machine(emulator, crm, tmp_path, "b", shared_state)
    first = a.start("--workers", "1")  # one call at a time: about 30 s, long enough for the second to start
    wait_for_calls(emulator, 5, first)
    assert first.poll() is None
    started = time.monotonic()
    second = b.run_process(timeout=60)
    assert second.returncode == 1, second.stdout + second.stderr
    assert time.monotonic() - started < 15
    message = " ".join(second.stderr.split())
    assert "contact sync of demo-customer/crm-group is being run by" in message, message
    assert f"pid {first.pid} since" in message and "--wait" in message, message
    assert "CRM rows" not in second.stdout + second.stderr  # refused before reading the CRM
    waiting = b.start("--wait")
    assert first.wait(timeout=120) == 0, (a.workdir / "sdsync.log").read_text()[-2000:]
    assert waiting.wait(timeout=120) == 0, (b.workdir / "sdsync.log").read_text()[-2000:]
    assert b.group() == expected_group(rows)
    stats = emulator.stats()
    assert stats["calls_by_operation"] == {"GetCustomerServices": 1, "CreateGroupContact": 300}, stats
    assert b.last_run()["calls"] == 0  # the waiting run found everything done


def test_a_local_state_moved_into_postgresql_carries_on_there(emulator, tmp_path, shared_state):
    crm = sqlite_crm(tmp_path)
    rows = [contact(n) for n in range(1, 31)] + [contact(99, phone="not a phone")]
    crm.write(rows)
    local = machine(emulator, crm, tmp_path, "local", None)
    local.run()
    report = migrate_contact_state(local.state, shared_state)
    assert report.copied["contact_state"] == 30 and report.copied["sync_runs"] == 1, report.describe()
    assert report.copied["rejected_rows"] == 1 and report.copied["contact_ops"] == 30
    again = migrate_contact_state(local.state, shared_state)
    assert sum(again.copied.values()) == 0 and again.already_there == report.copied, again.describe()

    shared = machine(emulator, crm, tmp_path, "shared", shared_state)
    before = emulator.stats()["calls_total"]
    shared.run()
    assert emulator.stats()["calls_total"] == before  # the state came along: nothing to send
    assert shared.last_run()["run_id"] == 2

    other = machine(emulator, crm, tmp_path, "other", None)  # another machine's own local state: run 1 differs
    crm.write([contact(n) for n in range(200, 203)])
    other.run()
    counts = query_state(shared_state, "SELECT count(*) FROM contact_state")
    with pytest.raises(StateConflict, match=r"sync_runs \(run_id 1\)"):
        migrate_contact_state(other.state, shared_state)
    assert query_state(shared_state, "SELECT count(*) FROM contact_state") == counts


@pytest.mark.parametrize("command", [["contacts", "sync"], ["contacts", "delete-all", "--yes"], ["status"]])
def test_a_state_url_that_is_not_ours_exits_2_creating_nothing(emulator, tmp_path, command):
    crm = sqlite_crm(tmp_path)
    crm.write([contact(1)])
    cli = SyncCli(emulator, crm, tmp_path, state="mysql://x")
    arguments = ["--data-dir", str(cli.data_dir), *command, "--state", "mysql://x"]
    if command[1:2] in (["sync"], ["delete-all"]):
        arguments += ["--customer", "demo-customer", "--group-service", "crm-group"]
    if command[1:2] == ["sync"]:
        arguments += ["--source", crm.url, "--table", crm.table]
    before = set(tmp_path.rglob("*"))
    done = run_sdsync(clean_env(), *arguments, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--state" in done.stderr and "mysql" in done.stderr
    assert set(tmp_path.rglob("*")) == before
    assert emulator.stats()["calls_total"] == 0


def status_of(cli: SyncCli, state: str) -> dict:
    """`sdsync status --json --state STATE` as a real process on the runner's (empty) data dir."""
    return Sdsync(cli.workdir, "--data-dir", str(cli.data_dir)).status_json("--state", state)[1]


def test_status_reads_the_shared_contact_state_from_any_machine_creating_nothing(emulator, tmp_path, shared_state):
    crm = sqlite_crm(tmp_path)
    observer = machine(emulator, crm, tmp_path, "observer", shared_state)
    report = status_of(observer, shared_state)
    assert report["contacts"]["present"] is False, report["contacts"]
    assert query_state(shared_state, "SELECT count(*) FROM information_schema.tables "
                                     "WHERE table_schema = 'public'") == [(0,)]  # read-only: nothing created

    crm.write([contact(n) for n in range(1, 11)] + [contact(11, phone="nope")])
    machine(emulator, crm, tmp_path, "runner", shared_state).run()
    report = status_of(observer, shared_state)
    (group,) = report["contacts"]["groups"]
    assert (group["contacts_known"], group["rejected_rows"], group["interrupted"]) == (10, 1, False), group
    assert group["last_run"]["status"] == "completed" and "***" not in report["contacts"]["location"]
    assert not observer.data_dir.exists()
