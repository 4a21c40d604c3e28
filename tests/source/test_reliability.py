"""Reliability end to end: a receiver killed with SIGKILL under concurrent load, redeliveries, a killed pull.

Every message that was answered 2xx must be at the destination after a pull, exactly once. Runs on
SQLite + DuckDB, and on PostgreSQL (journal and destination) when SDSYNC_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.http_load import ConnectionLost, KeepAliveConnection
from bench.pull_million import fill_journal
from tests.postgres import postgres_database
from tests.receiver.harness import ReceiverProcess
from tests.source.support import Destination, pull
from tests.support.cli import clean_env, run_sdsync, start_sdsync

MESSAGES = 5_000
CONCURRENCY = 64
KILL_AT = (800, 2_000, 3_500)  # acknowledged messages at which the receiver is killed


@pytest.fixture(params=["sqlite+duckdb", "postgres+postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Destination]]:
    """(journal URL, destination): SQLite journal into DuckDB, or PostgreSQL for both."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite+duckdb":
        yield str(data_dir / "journal.sqlite"), Destination("duckdb", data_dir)
    else:
        for journal in postgres_database():
            for target in postgres_database():
                yield journal, Destination("postgres", data_dir, target)


def _body(index: int) -> dict:
    return {"messageId": f"load-{index:05d}", "sender": f"+35840{index:07d}", "recipient": "+358401000000",
            "content": f"message {index}", "timestamp": "2026-11-27T05:00:00Z", "protocol": "SMS",
            "attachments": [{"name": "a.png", "mimeType": "image/png", "resourceLocation": "https://x/a.png"}]
            if index % 10 == 0 else []}


async def _post_until_acknowledged(receiver: ReceiverProcess, indexes: list[int], acknowledged: set[str]) -> None:
    """Post each message until it is answered 2xx, like a sender that retries, over CONCURRENCY connections."""
    pending = list(indexes)
    path = receiver.inbound_url.removeprefix(receiver.root_url)

    async def worker() -> None:
        connection = KeepAliveConnection(receiver.port)
        while pending:
            index = pending.pop()
            body = _body(index)
            while True:
                try:
                    status, answer = await connection.request("POST", path, json.dumps(body).encode())
                    if 200 <= status < 300:
                        acknowledged.add(body["messageId"])
                        break
                    assert status >= 500, answer
                except ConnectionLost:
                    await asyncio.sleep(0.2)
        connection.close()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def _kill_and_restart(receiver: ReceiverProcess, acknowledged: set[str], stop: list[bool], restarts: list[float]) -> None:
    """SIGKILL the receiver each time the acknowledged count passes a threshold, then start it again."""
    for threshold in KILL_AT:
        while len(acknowledged) < threshold and not stop[0]:
            time.sleep(0.01)
        if stop[0]:
            return
        receiver.kill()
        receiver.start()
        restarts.append(time.monotonic())


def test_every_acknowledged_message_arrives_exactly_once_despite_sigkill(backend, receiver_factory, tmp_path) -> None:
    journal_url, target = backend
    receiver = receiver_factory(journal_url).start()
    acknowledged: set[str] = set()
    indexes = list(range(MESSAGES)) + list(range(0, MESSAGES, 7))  # redeliveries of every 7th message
    random.Random(3).shuffle(indexes)
    stop: list[bool] = [False]
    restarts: list[float] = []

    async def scenario() -> None:
        killer = asyncio.get_running_loop().run_in_executor(
            None, _kill_and_restart, receiver, acknowledged, stop, restarts
        )
        try:
            await _post_until_acknowledged(receiver, indexes, acknowledged)
        finally:
            stop[0] = True
            await killer

    asyncio.run(scenario())
    assert len(restarts) == len(KILL_AT), "the receiver was killed three times during the load"
    receiver.kill()

    result = pull(target.data_dir, target.options(journal_url=journal_url, resources=["inbound_messages"]))
    assert result.rows["inbound_messages"] >= MESSAGES
    rows = target.query("SELECT message_id, count(*) FROM smartdialog.inbound_messages GROUP BY message_id")
    counts = dict(rows)
    assert set(counts) == acknowledged == {f"load-{i:05d}" for i in range(MESSAGES)}
    assert set(counts.values()) == {1}, "no message is loaded twice"
    attachments = target.query("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages__attachments")
    assert attachments == [(MESSAGES // 10, MESSAGES // 10)]


def test_emulator_redeliveries_create_no_duplicates(emulator, receiver_factory, destination) -> None:
    receiver = receiver_factory(extra_args=["--customer", "demo-customer", "--service", "sms-twoway"],
                                env={"SMARTDIALOG__BASE_URL": emulator.base_url})
    receiver.extra_args += ["--public-url", receiver.root_url]
    receiver.start()
    assert len(emulator.webhooks()) == 1
    emulator.configure(duplicate_rate=1.0)
    emulator.inbound("sms-twoway", "+358401234567", "Yes please", count=20)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and emulator.stats()["callbacks"]["delivered"] < 40:
        time.sleep(0.2)
    assert emulator.stats()["callbacks"]["delivered"] >= 40, "every message was delivered twice"
    pull(destination.data_dir, destination.options(resources=["inbound_messages"]), emulator.base_url)
    rows = destination.query("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages")
    assert rows == [(20, 20)]


def _pull_args(data_dir: Path, target: Destination, journal_url: str) -> list[str]:
    """`sdsync pull` of the journal's inbound messages into `target` (the API is unreachable)."""
    return ["--data-dir", str(data_dir), "--base-url", "http://127.0.0.1:9/api-integrations/v1", "pull",
            "--journal", journal_url, "--resources", "inbound_messages", *target.cli_args()]


def _packages(data_dir: Path, stage: str) -> list[Path]:
    """What the pull pipeline's dlt folder holds under `stage` (load packages, or a package's jobs)."""
    return list(data_dir.glob(f"pipelines/*/{stage}/*"))


def _kill_when(args: list[str], reached: Callable[[], Any], what: str) -> None:
    """Start the pull and SIGKILL it as soon as `reached()` is true (it must not end before `what`)."""
    process = start_sdsync(clean_env(), *args)
    try:
        while not reached():
            assert process.poll() is None, f"the pull ended (exit {process.returncode}) before {what}"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()


def _kill_at_stage(args: list[str], data_dir: Path, stage: str) -> None:
    """SIGKILL the pull as soon as a load package appears in `stage`."""
    _kill_when(args, lambda: _packages(data_dir, stage), f"reaching {stage}")


def test_pull_killed_with_sigkill_loads_everything_once_when_run_again(destination, tmp_path) -> None:
    target = destination
    journal_url = str(tmp_path / "journal.sqlite")
    fill_journal(Path(journal_url), 100_000)
    args = _pull_args(target.data_dir, target, journal_url)
    _kill_at_stage(args, target.data_dir, "normalize/*")  # while extracting
    assert not _packages(target.data_dir, "load/*"), "the first kill landed before anything reached the load stage"
    _kill_at_stage(args, target.data_dir, "load/normalized/*/started_jobs")  # while loading
    assert _packages(target.data_dir, "load/normalized") and not _packages(target.data_dir, "load/loaded"), \
        "the second kill landed while the package was being loaded"
    finished = run_sdsync(clean_env(), *args)
    assert finished.returncode == 0, finished.stderr
    again = run_sdsync(clean_env(), *args)
    assert again.returncode == 0 and "nothing new to load" in again.stdout
    rows = target.query("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages")
    assert rows == [(100_000, 100_000)]


def test_delivery_reports_of_a_send_reach_the_destination(emulator, receiver_factory, tmp_path) -> None:
    from smartdialog_sync.api import SmartDialogClient, models, resolve_settings

    receiver = receiver_factory().start()
    data_dir = tmp_path / "data"
    settings = resolve_settings(base_url=emulator.base_url, data_dir=str(data_dir))
    recipients = [models.Recipient(address=f"+35840123456{i}") for i in range(3)]
    request = models.SendMessageRequest(sender="Demo", content="Hello", recipients=recipients,
                                        dlr_url=receiver.dlr_url + "?campaign=spring")
    with SmartDialogClient(settings) as api:
        sent = api.send_message("demo-customer", "sms-oneway", request)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and emulator.stats()["callbacks"]["delivered"] < 3:
        time.sleep(0.2)
    target = Destination("duckdb", data_dir)
    pull(data_dir, target.options(resources=["delivery_reports"]), emulator.base_url)
    rows = target.query("SELECT message_id, recipient_id, address, status, json_extract_string(query, '$.campaign')"
                        " FROM smartdialog.delivery_reports ORDER BY address")
    assert [row[2] for row in rows] == [recipient.address for recipient in recipients]
    assert {row[0] for row in rows} == {sent.message_id}
    assert {row[1] for row in rows} == {recipient.id for recipient in sent.recipients}
    assert all(row[3] and row[4] == "spring" for row in rows), "status and the DlrUrl's own parameters"


def _dead_extracts(data_dir: Path) -> list[Path]:
    """Packages of killed extracts: anything under a pipeline's normalize/ but its `extracted` folder."""
    return [path for path in data_dir.glob("pipelines/*/normalize/*") if path.is_dir() and path.name != "extracted"]


def _extracting(data_dir: Path, other_than: list[Path] = []) -> bool:
    """True once an extract package (not one of `other_than`) is being written under normalize/."""
    return any(list(path.glob("*/load_package_state.json")) for path in _dead_extracts(data_dir) if path not in other_than)


def _kill_during_extract(args: list[str], data_dir: Path, other_than: list[Path] = []) -> None:
    """SIGKILL the pull as soon as its own extract package exists."""
    _kill_when(args, lambda: _extracting(data_dir, other_than), "extracting")


def test_the_next_pull_removes_what_killed_extracts_left_and_loads_everything_once(tmp_path) -> None:
    target = Destination("duckdb", tmp_path / "data")
    journal_url = str(tmp_path / "journal.sqlite")
    fill_journal(Path(journal_url), 100_000)
    args = _pull_args(target.data_dir, target, journal_url)
    _kill_during_extract(args, target.data_dir)  # while extracting: the package is not in normalize/extracted yet
    first = _dead_extracts(target.data_dir)
    assert len(first) == 1 and list(first[0].glob("*/load_package_state.json")), "the kill left its extract package"
    _kill_during_extract(args, target.data_dir, first)  # the next pull, killed while extracting too
    second = _dead_extracts(target.data_dir)
    assert len(second) == 1 and second != first, "the second pull removed the first one's leftover before extracting"
    _kill_at_stage(args, target.data_dir, "load/new/*")  # while normalizing: the extracted package stays pending
    assert not _dead_extracts(target.data_dir), "the third pull removed both before extracting"
    assert list(target.data_dir.glob("pipelines/*/normalize/extracted/*")), "the pending package was kept"
    finished = run_sdsync(clean_env(), *args)
    assert finished.returncode == 0, finished.stderr
    assert not _dead_extracts(target.data_dir) and not list(target.data_dir.glob("pipelines/*/normalize/extracted/*"))
    rows = target.query("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages")
    assert rows == [(100_000, 100_000)]


def test_a_pull_is_refused_while_another_pull_of_its_pipeline_runs_and_leaves_its_extract_alone(tmp_path) -> None:
    from filelock import FileLock

    target = Destination("duckdb", tmp_path / "data")
    journal_url = str(tmp_path / "journal.sqlite")
    fill_journal(Path(journal_url), 10)
    args = _pull_args(target.data_dir, target, journal_url)
    assert run_sdsync(clean_env(), *args).returncode == 0
    (working_dir,) = target.data_dir.glob("pipelines/smartdialog_pull_*/")
    running = working_dir / "normalize" / "0123456789abcdef" / "1796300000.1"  # what a running extract writes
    running.mkdir(parents=True)
    (running / "load_package_state.json").write_text("{}")
    with FileLock(working_dir.parent / f"{working_dir.name}.lock"):  # as a running pull holds it
        busy = run_sdsync(clean_env(), *args)
    assert busy.returncode == 1 and f"another pull of {working_dir.name} is running" in busy.stderr, busy.stderr
    assert running.exists(), "a running extract's package is never removed"
    done = run_sdsync(clean_env(), *args)
    assert done.returncode == 0, done.stderr
    assert not _dead_extracts(target.data_dir), "once nothing runs, the next pull removes it"
