"""`sdsync reply` sends each reply at most once: a record in the state before and after the call.

SendDiscussionReplyMessage has no RequestId, so only our record stops a rerun from sending it again; a reply
whose call got no answer (a dropped connection) or whose run was killed after the record is uncertain and
is never sent again under its id.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from smartdialog_sync.destinations.campaigns.replies import Reply, ReplyRecords

from tests.campaigns.helpers import phone
from tests.support.cli import emulator_env, start_sdsync

CUSTOMER = "demo-customer"


def _thread(emulator: Any) -> dict[str, Any]:
    return emulator.inbound("sms-twoway", phone(1), "Is my order ready?")["messages"][0]


def _sent(emulator: Any, operation: str) -> list[str]:
    return [m["content"] for m in emulator.messages(phone(1)) if m["operation"] == operation]


@pytest.fixture(params=["local", "postgres"])
def state_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Extra environment of the run: the reply record in the data dir, or in a fresh shared PostgreSQL state."""
    if request.param == "local":
        return {}
    return {"SMARTDIALOG__STATE_URL": request.getfixturevalue("postgres_url")}


def test_a_discussion_reply_rerun_sends_once(sdsync: Callable[..., Any], emulator: Any, state_env: dict[str, str]) -> None:
    thread = _thread(emulator)
    args = ["reply", "--customer", CUSTOMER, "--thread-id", thread["threadId"], "--content", "Anything else?",
            "--request-id", "X"]
    first = sdsync(*args, **state_env)
    assert first.exit_code == 0, first.output
    again = sdsync(*args, **state_env)
    assert again.exit_code == 0 and "Already sent (reply X" in again.output, again.output
    assert _sent(emulator, "SendDiscussionReplyMessage") == ["Anything else?"]
    assert emulator.calls("SendDiscussionReplyMessage") == 1
    other = sdsync(*args[:-4], "--content", "Something else", "--request-id", "X", **state_env)
    assert other.exit_code == 2 and "reply id X was used" in other.output and "a new --request-id" in other.output


def test_a_parent_message_reply_rerun_sends_once(sdsync: Callable[..., Any], emulator: Any) -> None:
    received = _thread(emulator)
    args = ["reply", "--customer", CUSTOMER, "--parent-message-id", received["messageId"], "--service", "sms-twoway",
            "--sender", "+358401000001", "--to", "0401000001", "--content", "Yes, it is."]
    first = sdsync(*args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["recipients"][0]["address"] == phone(1)
    again = sdsync(*args)
    assert again.exit_code == 0 and "Already sent" in again.output
    assert emulator.calls("SendReplyMessage") == 1  # not even a call the service would cancel
    assert _sent(emulator, "SendReplyMessage") == ["Yes, it is."]


def test_a_dropped_discussion_reply_is_uncertain_and_never_sent_again(sdsync: Callable[..., Any], emulator: Any) -> None:
    command = ["reply", "--customer", CUSTOMER, "--thread-id", _thread(emulator)["threadId"], "--content", "On its way"]
    emulator.set_faults(drop_after_processing_rate=1.0, seed=1)
    dropped = sdsync(*command)
    assert dropped.exit_code == 1 and "is uncertain" in dropped.output and "a new --request-id" in dropped.output
    emulator.set_faults()
    rerun = sdsync(*command)
    assert rerun.exit_code == 1 and "is uncertain" in rerun.output, rerun.output
    assert emulator.calls("SendDiscussionReplyMessage") == 1  # the rerun made no call
    assert _sent(emulator, "SendDiscussionReplyMessage") == ["On its way"]  # the dropped call was processed, once


def test_a_dropped_parent_message_reply_is_settled_by_its_request_id(sdsync: Callable[..., Any], emulator: Any) -> None:
    received = _thread(emulator)
    command = ["reply", "--customer", CUSTOMER, "--parent-message-id", received["messageId"], "--service", "sms-twoway",
               "--sender", "+358401000001", "--to", phone(1), "--content", "On its way"]
    emulator.set_faults(drop_after_processing_rate=1.0, seed=1)
    dropped = sdsync(*command)  # the client's repeat carries the same RequestId: the service cancels it (409)
    assert dropped.exit_code == 0 and "Already sent" in dropped.output, dropped.output
    emulator.set_faults()
    calls = emulator.calls("SendReplyMessage")
    rerun = sdsync(*command)
    assert rerun.exit_code == 0 and "Already sent" in rerun.output
    assert emulator.calls("SendReplyMessage") == calls
    assert _sent(emulator, "SendReplyMessage") == ["On its way"]


def test_a_reply_killed_after_its_record_is_never_sent_again(sdsync: Callable[..., Any], emulator: Any,
                                                            tmp_path: Path) -> None:
    thread = _thread(emulator)
    args = ["reply", "--customer", CUSTOMER, "--thread-id", thread["threadId"], "--content", "On its way"]
    records = tmp_path / "data" / "replies.sqlite"
    emulator.set_faults(latency_ms=1500)  # a call the run makes is still under way when the kill comes
    process = start_sdsync(emulator_env(emulator, tmp_path / "data"), *args)
    deadline = time.monotonic() + 60
    while not _in_flight(records) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _in_flight(records), "the reply was not recorded in flight before its call"
    time.sleep(2)  # a call the killed run made is finished by the emulator (sent), or there was none yet
    emulator.set_faults()
    calls = emulator.calls("SendDiscussionReplyMessage")
    rerun = sdsync(*args)
    assert rerun.exit_code == 1 and "is uncertain" in rerun.output, rerun.output
    assert emulator.calls("SendDiscussionReplyMessage") == calls <= 1  # the rerun made no call
    # the killed run's call was carried out (sent) unless the emulator saw its client hang up first (nothing done)
    assert len(_sent(emulator, "SendDiscussionReplyMessage")) == calls - emulator.stats()["client_disconnects"]


def _in_flight(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path, timeout=5) as connection:
            return bool(connection.execute("SELECT count(*) FROM reply_records WHERE status = 'in_flight'").fetchone()[0])
    except sqlite3.OperationalError:  # the table is being created
        return False


def test_a_run_killed_between_the_record_and_the_call_is_uncertain(sdsync: Callable[..., Any], emulator: Any,
                                                                   tmp_path: Path) -> None:
    thread = _thread(emulator)
    reply = Reply(CUSTOMER, "Anything else?", thread_id=thread["threadId"])
    records = ReplyRecords(tmp_path / "data" / "replies.sqlite")  # what a SIGKILL right after the record leaves
    assert records.start(reply)
    records.close()
    rerun = sdsync("reply", "--customer", CUSTOMER, "--thread-id", thread["threadId"], "--content", "Anything else?")
    assert rerun.exit_code == 1 and f"reply {reply.reply_id()} is uncertain" in rerun.output, rerun.output
    assert emulator.calls("SendDiscussionReplyMessage") == 0


def test_a_refused_reply_is_not_recorded_sent(sdsync: Callable[..., Any], emulator: Any) -> None:
    args = ["reply", "--customer", CUSTOMER, "--thread-id", "no-such-thread", "--content", "Hello"]
    refused = sdsync(*args)
    assert refused.exit_code == 1 and "was not sent" in refused.output and "run the same command again" in refused.output
    again = sdsync(*args)  # refused before: nothing was sent, so trying again is safe
    assert again.exit_code == 1 and "was not sent" in again.output
    assert emulator.calls("SendDiscussionReplyMessage") == 2


def test_a_reply_whose_client_cannot_start_is_not_left_uncertain(sdsync: Callable[..., Any], emulator: Any) -> None:
    thread = _thread(emulator)
    args = ["reply", "--customer", CUSTOMER, "--thread-id", thread["threadId"], "--content", "Anything else?",
            "--request-id", "Y"]
    unreachable = sdsync(*args, SMARTDIALOG__LIMITER_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    assert unreachable.exit_code == 1 and "uncertain" not in unreachable.output, unreachable.output
    assert emulator.calls("SendDiscussionReplyMessage") == 0
    again = sdsync(*args)
    assert again.exit_code == 0 and "uncertain" not in again.output, again.output
    assert _sent(emulator, "SendDiscussionReplyMessage") == ["Anything else?"]


def test_state_migrate_copies_the_reply_record(tmp_path: Path, postgres_url: str) -> None:
    from smartdialog_sync.pipelines.state_migration import migrate_state

    reply = Reply(CUSTOMER, "Anything else?", thread_id="t-1")
    local = ReplyRecords(tmp_path / "replies.sqlite")
    assert local.start(reply)
    local.finish(reply.reply_id(), "sent", "m-1")
    local.close()
    first = [m.describe() for m in migrate_state(tmp_path, postgres_url)]
    assert "reply record (" in first[0] and "reply_records 1 copied" in first[0]
    again = migrate_state(tmp_path, postgres_url)
    assert again[0].already_there == {"reply_records": 1} and not again[0].copied
    shared = ReplyRecords(postgres_url)
    try:
        record = shared.find(reply.reply_id())
        assert record is not None and (record.status, record.message_id) == ("sent", "m-1")
        assert not shared.start(reply)  # sent: never in flight again
    finally:
        shared.close()
