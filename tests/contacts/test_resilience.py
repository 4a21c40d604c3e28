"""Applied once, resumable: SIGKILL at random points, injected 5xx, dropped answers and 429s."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from smartdialog_sync.pipelines.operations.options import StatusOptions
from smartdialog_sync.pipelines.operations.status import collect_status, forget_group_command

from .crm import contact, sqlite_crm
from .sync_cli import CUSTOMER, GROUP, SyncCli, expected_group

MAX_RUNS = 30


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def seed(request) -> int:
    """The random seed of the test (SDSYNC_TEST_SEED, else drawn), shown with any failure of the test."""
    value = int(os.environ.get("SDSYNC_TEST_SEED") or random.randrange(1_000_000))
    request.node.add_report_section("setup", "random seed", f"{value} (rerun with SDSYNC_TEST_SEED={value})")
    return value


def kill_at_random_point(cli: SyncCli, rng: random.Random, args: tuple[str, ...], first: bool) -> int:
    """Start a sync, SIGKILL it at a random moment (a random delay, or right after a random number of
    API calls; the first run of a phase always after a few calls); return its exit code (-9 when killed)."""
    process = cli.start(*args)
    calls_before = cli.emulator.stats()["calls_total"]
    if not first and rng.random() < 0.2:
        deadline, after_calls = time.monotonic() + rng.uniform(0.2, 3.0), None
    else:
        deadline, after_calls = time.monotonic() + 60, rng.randint(1, 20 if first else 60)
    while process.poll() is None and time.monotonic() < deadline:
        if after_calls is not None and cli.emulator.stats()["calls_total"] - calls_before >= after_calls:
            break
        time.sleep(0.01)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    return process.wait(timeout=60)


def sync_until_success(cli: SyncCli, rng: random.Random, *args: str) -> int:
    """Kill runs at random points until one exits 0; return how many were killed."""
    kills = 0
    for attempt in range(MAX_RUNS):
        code = kill_at_random_point(cli, rng, args, first=attempt == 0)
        if code == 0:
            return kills
        assert code == -signal.SIGKILL, (cli.workdir / "sdsync.log").read_text()[-3000:]
        kills += 1
    pytest.fail(f"no run finished in {MAX_RUNS} attempts")


def test_sigkill_at_random_points_applies_each_change_once(start_emulator, workdir, seed):
    rng = random.Random(seed)
    emulator = start_emulator(rate_limit="100000/60")
    emulator.set_faults(latency_ms=5)
    crm = sqlite_crm(workdir)
    cli = SyncCli(emulator, crm, workdir)

    rows = [contact(n) for n in range(1, 101)]
    crm.write(rows)
    kills = sync_until_success(cli, rng)
    assert cli.group() == expected_group(rows), f"seed {seed}"

    rows = [contact(n, last_name="Edited") if n % 7 == 0 else contact(n) for n in range(21, 101)]
    rows += [contact(n) for n in range(300, 320)]
    crm.write(rows)
    kills += sync_until_success(cli, rng, "--mode", "mirror", "--yes")
    assert cli.group() == expected_group(rows), f"seed {seed}"

    stats = emulator.stats()
    # A create is never sent again once it reached the service: no 409, and any create call beyond one per
    # phone is a request the kill cut before the service answered it.
    assert "409" not in stats["responses_by_status"], f"seed {seed}: a create was repeated blindly: {stats}"
    # responses_by_status counts answered calls only: a request the kill cut mid-body is not among them.
    unanswered = stats["calls_total"] - sum(stats["responses_by_status"].values())
    assert 120 <= stats["calls_by_operation"]["CreateGroupContact"] <= 120 + unanswered, f"seed {seed}: {stats}"
    assert stats["calls_by_operation"]["DeleteGroupContact"] >= 20
    assert kills >= 2, f"seed {seed}"
    assert cli.query("SELECT count(*) FROM contact_ops WHERE status IN ('planned', 'inflight')") == [(0,)]

    before = emulator.stats()["calls_total"]
    cli.run("--mode", "mirror", "--yes")
    assert emulator.stats()["calls_total"] == before


def test_server_errors_and_dropped_answers_are_settled_in_one_run(emulator, workdir):
    """3 % 5xx and 3 % answers dropped after processing: each run finishes, every contact exact, none created twice."""
    emulator.set_faults(error_rate=0.03, error_statuses=[500, 502, 503], drop_after_processing_rate=0.03, seed=1)
    crm = sqlite_crm(workdir)
    cli = SyncCli(emulator, crm, workdir)
    rows = [contact(n) for n in range(1, 301)]
    crm.write(rows)
    cli.run()
    assert cli.last_run()["status"] == "completed"
    rows = [contact(n, last_name="Edited") if n % 5 == 0 else contact(n) for n in range(31, 301)]
    rows += [contact(n) for n in range(400, 430)]
    crm.write(rows)
    cli.run("--mode", "mirror", "--yes")
    assert cli.last_run()["status"] == "completed"

    stats = emulator.stats()
    emulator.set_faults()
    assert cli.group() == expected_group(rows)
    assert stats["faults_injected"]["dropped"] > 0 and stats["faults_injected"]["errors"] > 0, stats
    # A create that reached the service is never sent again: the service would answer 409.
    assert "409" not in stats["responses_by_status"], stats
    assert cli.query("SELECT count(*) FROM contact_ops WHERE status NOT IN ('done', 'superseded')") == [(0,)]
    settled = dict(cli.query("SELECT result, count(*) FROM contact_ops GROUP BY result"))
    assert settled.get("created (confirmed by read)", 0) > 0, settled
    before = emulator.stats()["calls_total"]
    cli.run("--mode", "mirror", "--yes")
    assert emulator.stats()["calls_total"] == before


def test_a_service_down_beyond_the_retry_policy_stops_the_run_and_the_next_resumes(emulator, workdir):
    crm = sqlite_crm(workdir)
    cli = SyncCli(emulator, crm, workdir)
    crm.write([contact(1)])
    cli.run()  # the group holds a contact of the sync: no group-service check before the apply below
    emulator.set_faults(error_rate=1.0, error_statuses=[503])
    rows = [contact(n) for n in range(1, 21)]
    crm.write(rows)
    output = cli.run(expect=1)
    assert "left in flight, reconciled on the next run" in output and "resumed by the next run" in output
    assert cli.last_run()["status"] == "failed"
    assert emulator.stats()["calls_by_operation"]["CreateGroupContact"] == 2
    emulator.set_faults()
    cli.run()
    assert cli.last_run()["status"] == "completed" and cli.last_run()["reconciled"] == 1
    assert cli.group() == expected_group(rows)
    assert cli.query("SELECT count(*) FROM contact_ops WHERE status IN ('planned', 'inflight')") == [(0,)]


def test_dropped_answers_after_processing_are_reconciled_by_reading(emulator, workdir):
    emulator.set_faults(drop_after_processing_rate=0.2, seed=5)
    crm = sqlite_crm(workdir)
    cli = SyncCli(emulator, crm, workdir)
    rows = [contact(n) for n in range(1, 61)]
    crm.write(rows)
    for _ in range(MAX_RUNS):
        cli.run(expect=None)
        if cli.last_run()["status"] == "completed":
            break
    emulator.set_faults()
    assert cli.group() == expected_group(rows)
    stats = emulator.stats()
    assert stats["faults_injected"]["dropped"] > 0
    assert stats["calls_by_operation"]["CreateGroupContact"] == 60
    assert "409" not in stats["responses_by_status"]
    results = dict(cli.query("SELECT result, count(*) FROM contact_ops WHERE status = 'done' GROUP BY result"))
    assert results.get("created (confirmed by read)", 0) + results.get("reconciled: applied", 0) > 0


def test_throttling_is_waited_out_and_recorded(start_emulator, workdir):
    emulator = start_emulator(rate_limit="15/5")
    crm = sqlite_crm(workdir)
    cli = SyncCli(emulator, crm, workdir, rate_limit="1000/60")
    rows = [contact(n) for n in range(1, 11)]
    crm.write(rows)
    with emulator.api() as api:  # fill the window of the token the sync uses: its first call gets a 429
        assert {api.get("/customers").status_code for _ in range(15)} == {200}
    cli.run()
    assert cli.group() == expected_group(rows)
    run = cli.last_run()
    assert run["status"] == "completed"
    assert run["throttled"] == emulator.stats()["rate_limited"] > 0
    assert run["calls"] == len(rows) + 1 + run["throttled"]  # and the group-service check


@pytest.mark.parametrize("state", ["duckdb", "postgres"], indirect=True)
def test_an_abandoned_group_is_forgotten_and_status_no_longer_needs_attention(emulator, workdir, state):
    crm = sqlite_crm(workdir)
    cli = SyncCli(emulator, crm, workdir, state=state)
    crm.write([contact(1)])
    cli.run()  # the group is known to the state: its later runs need no group-service check
    crm.write([contact(n) for n in range(1, 4)])
    emulator.set_faults(error_rate=1.0, error_statuses=[503])
    cli.run(expect=1)
    emulator.set_faults()
    options = StatusOptions(data_dir=cli.data_dir, contacts_state=str(cli.state))
    (reason,) = collect_status(options)["attention"]
    assert reason.endswith(f"or `{forget_group_command(CUSTOMER, GROUP)}` if the group is abandoned"), reason
    assert "Forgot the sync state of demo-customer/crm-group" in cli.run(subcommand="forget")
    report = collect_status(options)
    assert report["attention"] == [] and report["contacts"]["groups"] == []
    assert cli.query("SELECT count(*) FROM contact_ops") == [(0,)] and cli.query("SELECT count(*) FROM sync_runs") == [(0,)]
    cli.run()  # a later sync of the group starts afresh: no duplicate of the contact created before the outage
    assert cli.group() == expected_group([contact(n) for n in range(1, 4)])
