"""Bad input never costs good input: malformed payloads are 4xx and dead-lettered, unstorable values are
normalised (raw kept), one row the database refuses never fails its batch."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from smartdialog_sync.journal import DeadLetter, GroupCommitJournal, InboundRow, RowRejected, open_journal
from smartdialog_sync.receiver.payloads import InvalidPayload, inbound_row
from smartdialog_sync.timestamps import parse_timestamp_us
from tests.support.cli import clean_env, run_sdsync

pytestmark = pytest.mark.compat

GOOD = 40


def _store(receiver):
    return open_journal(receiver.data_dir / "journal.sqlite")


MALFORMED = [
    pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, id="deeply-nested-array"),
    pytest.param(b'{"messageId": "x", "content": ' + b'{"a":' * 20_000 + b"1" + b"}" * 20_001, 400, id="deeply-nested-object"),
    pytest.param(b"1" * 5_000, None, id="5000-digit-integer-body"),
    pytest.param(b'{"messageId": ' + b"9" * 5_000 + b"}", None, id="5000-digit-messageId"),
    pytest.param(b'{"messageId": "x", "timestamp": ' + b"9" * 5_000 + b"}", None, id="5000-digit-timestamp"),
    pytest.param(b'{"messageId": ["x"]}', 422, id="list-messageId"),
    pytest.param(b'{"messageId": "x", "sender": {"a": 1}}', 422, id="object-sender"),
    pytest.param(b'{"messageId": "x", "timestamp": 1700000000}', 422, id="numeric-timestamp"),
    pytest.param(b'{"messageId": "x", "timestamp": "2026-12-01T25:00:00Z"}', 422, id="hour-25"),
    pytest.param(b'{"messageId": "x", "attachments": [null]}', 422, id="null-attachment"),
    pytest.param(b'{"messageId": "\\u0000"}', 422, id="nul-only-messageId"),
    pytest.param(b"\xff\xfe\x00{", 400, id="not-utf8"),
    pytest.param(b"messageId=x&content=hello", 400, id="form-encoded"),
    pytest.param(b'{"messageId": "x"', 400, id="truncated-json"),
    pytest.param(b"NaN", 422, id="nan"),
    pytest.param(b'{"messageId": "' + b"x" * 300_000 + b'"}', 413, id="oversized-kept-up-to-the-limit"),
]


@pytest.mark.parametrize(("body", "status"), MALFORMED)
def test_malformed_authenticated_payloads_are_4xx_and_kept_as_dead_letters(shared_receiver, body: bytes, status) -> None:
    store = _store(shared_receiver)
    before = store.count_rows()
    with httpx.Client(timeout=30) as client:
        answer = client.post(shared_receiver.inbound_url, content=body, headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    if status is not None:
        assert answer.status_code == status
    assert store.count_rows() == before, "nothing journaled"
    letter = store.list_dead_letters()[-1]
    store.close()
    assert letter.kind == "inbound" and letter.status_code == answer.status_code
    assert letter.reason == answer.json()["error"]
    assert letter.body == body[: len(letter.body)] and letter.body_size == len(body)
    assert "Traceback" not in shared_receiver.output()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.sampled_from(
        ["messageId", "sender", "content", "timestamp", "attachments", "name", "x"]), children),
).map(lambda value: json.dumps(value).encode())))
def test_validation_raises_nothing_but_invalid_payload(body: bytes) -> None:
    try:
        row = inbound_row(body)
    except InvalidPayload:
        return
    assert "\x00" not in (row.content or "") + (row.sender or "") + (row.attachments or "")
    (row.content or "").encode("utf-8")  # storable: no lone surrogate left


def _message(message_id: str, **extra: object) -> dict:
    return {"messageId": message_id, "sender": "+358401234567", "content": "hei", "timestamp": "2026-11-27T05:00:00Z",
            **extra}


async def _post_together(url: str, bodies: list[bytes]) -> list[int]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(bodies))) as client:
        answers = await asyncio.gather(*(client.post(url, content=body) for body in bodies))
    return [answer.status_code for answer in answers]


def test_a_lone_surrogate_is_stored_replaced_and_its_batch_neighbours_are_acknowledged(shared_receiver) -> None:
    surrogate = b'{"messageId": "surrogate-1", "content": "bad \\udc80 text", "sender": "+358401234567"}'
    good = [json.dumps(_message(f"neighbour-{index}")).encode() for index in range(GOOD)]
    statuses = asyncio.run(_post_together(shared_receiver.inbound_url, good[:GOOD // 2] + [surrogate] + good[GOOD // 2:]))
    assert statuses == [200] * (GOOD + 1)
    store = _store(shared_receiver)
    rows = {row[1]: row for row in store.read_inbound(0, 100_000)}
    store.close()
    assert {f"neighbour-{index}" for index in range(GOOD)} <= set(rows)
    stored = rows["surrogate-1"]
    assert stored[4] == "bad \ufffd text"
    assert json.loads(stored[9]) == {"content": "bad \udc80 text"}, "the value as received is kept"


def test_nul_and_out_of_range_timestamps_are_normalised_and_kept_raw(shared_receiver) -> None:
    body = _message("odd-1", content="a\x00b", timestamp="0001-01-01T00:00:00+14:00",
                    attachments=[{"name": "x\x00.png", "mimeType": "image/png", "resourceLocation": "https://x"}])
    report = {"messageId": "odd-1", "recipientId": "r\x00", "status": "Delivered", "statusTime": "0001-01-01T00:00:00+14:00"}
    with httpx.Client(timeout=10) as client:
        assert client.post(shared_receiver.inbound_url, json=body).status_code == 200
        assert client.get(shared_receiver.dlr_url, params=report).status_code == 200
    store = _store(shared_receiver)
    inbound = next(row for row in store.read_inbound(0, 100_000) if row[1] == "odd-1")
    dlr = next(row for row in store.read_dlr(0, 100_000) if row[2] == "odd-1")
    store.close()
    assert inbound[4] == "ab" and inbound[6] is None
    assert json.loads(inbound[7])[0]["name"] == "x.png"
    assert json.loads(inbound[9]) == {"content": "a\x00b", "timestamp": "0001-01-01T00:00:00+14:00",
                                      "attachments[0].name": "x\x00.png"}
    assert dlr[3] == "r" and dlr[6] is None
    # the report as received is kept in `query`, a NUL as its escape text (a JSON column refuses the escape itself)
    assert json.loads(dlr[8]) == {**report, "recipientId": "r\\u0000"}


def test_timestamps_that_python_3_10_refused_are_stored(shared_receiver) -> None:
    with httpx.Client(timeout=10) as client:
        answer = client.post(shared_receiver.inbound_url, json=_message("z-1", timestamp="2026-12-01T23:54:32.522Z"))
        assert answer.status_code == 200, answer.text
        report = {"messageId": "z-1", "recipientId": "r1", "status": "Delivered", "statusTime": "2026-12-01T23:54:33.5224Z"}
        assert client.get(shared_receiver.dlr_url, params=report).status_code == 200
    store = _store(shared_receiver)
    inbound = next(row for row in store.read_inbound(0, 100_000) if row[1] == "z-1")
    dlr = next(row for row in store.read_dlr(0, 100_000) if row[2] == "z-1")
    store.close()
    assert inbound[6] == parse_timestamp_us("2026-12-01T23:54:32.522+00:00")
    assert dlr[6] == parse_timestamp_us("2026-12-01T23:54:33.522400+00:00"), "not silently NULL"


def test_head_on_the_delivery_report_path_stores_nothing(shared_receiver) -> None:
    store = _store(shared_receiver)
    before = store.count_rows()
    with httpx.Client(timeout=10) as client:
        answer = client.head(shared_receiver.dlr_url, params={"messageId": "head-1", "status": "Delivered"})
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"
    assert store.count_rows() == before
    store.close()


def test_a_stalled_body_on_the_secret_path_is_timed_out_and_kept(shared_receiver) -> None:
    path = shared_receiver.inbound_url.removeprefix(shared_receiver.root_url)
    with socket.create_connection(("127.0.0.1", shared_receiver.port), timeout=60) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode() + b'{"messageId": "sl')
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    store = _store(shared_receiver)
    letter = store.list_dead_letters()[-1]
    store.close()
    assert (letter.status_code, letter.body) == (408, b'{"messageId": "sl')


async def _append_all(journal: GroupCommitJournal, rows: list) -> list:
    journal.start(asyncio.get_running_loop())
    try:
        return await asyncio.gather(*(journal.append(row) for row in rows), return_exceptions=True)
    finally:
        journal.stop()


def test_one_row_the_database_refuses_fails_alone(journal_url: str) -> None:
    """A row that slipped past validation (here built by hand) is rejected alone; its batch is written."""
    bad_content = "nul \x00" if journal_url.startswith("postgresql") else "surrogate \udc80"
    rows = [InboundRow(f"good-{index}", None, None, "fine", "SMS", None, None, 1) for index in range(GOOD)]
    rows.insert(GOOD // 2, InboundRow("bad-1", None, None, bad_content, "SMS", None, None, 1))
    journal = GroupCommitJournal(lambda: open_journal(journal_url))
    outcomes = asyncio.run(_append_all(journal, rows))
    assert isinstance(outcomes[GOOD // 2], RowRejected)
    assert outcomes[: GOOD // 2] + outcomes[GOOD // 2 + 1:] == [None] * GOOD
    store = open_journal(journal_url)
    assert sorted(row[1] for row in store.read_inbound(0, 1000)) == sorted(f"good-{index}" for index in range(GOOD))
    store.close()


def test_dead_letters_are_listed_and_replayed_once_they_pass(journal_url: str, tmp_path: Path) -> None:
    """A payload an older version refused (Python 3.10 and `Z`) is journaled by a replay, keeping its time."""
    passes_now = json.dumps(_message("late-1", timestamp="2026-12-01T23:54:32.522Z")).encode()
    still_bad = b'{"messageId": 5}'
    cut = b'{"messageId": "cut-1", "content": "' + b"x" * 100
    store = open_journal(journal_url)
    store.write_batch([], [], [
        DeadLetter("inbound", "timestamp must be an ISO 8601 date-time", 422, passes_now, len(passes_now), 1_000_000),
        DeadLetter("inbound", "messageId must be a non-empty string", 422, still_bad, len(still_bad), 2_000_000),
        DeadLetter("inbound", "body larger than 100 bytes", 413, cut, 300_000, 3_000_000),
        DeadLetter("dlr", "messageId must be a non-empty string", 422, b"messageId=r-1&status=Delivered", 30, 4_000_000),
    ])
    store.close()

    def sdsync(*args: str) -> subprocess.CompletedProcess[str]:
        return run_sdsync(clean_env(COLUMNS="250"), "--data-dir", str(tmp_path), "journal", "dead-letters",
                          "--journal", journal_url, *args)

    listing = sdsync()
    assert listing.returncode == 0, listing.stderr
    assert "timestamp must be an ISO 8601" in listing.stdout and f"300,000 (kept {len(cut)})" in listing.stdout
    replay = sdsync("--replay")
    assert replay.returncode == 0, replay.stderr
    assert "replayed 2, still refused 2" in replay.stderr
    assert f"only the first {len(cut)} of 300000 bytes were kept" in replay.stderr
    assert "replayed 0, still refused 2" in sdsync("--replay").stderr, "a replayed dead letter is not replayed again"
    store = open_journal(journal_url)
    (inbound,) = store.read_inbound(0, 10)
    (report,) = store.read_dlr(0, 10)
    letters = store.list_dead_letters(include_replayed=True)
    store.close()
    assert inbound[1] == "late-1" and inbound[8] == 1_000_000, "the first receive time is kept"
    assert report[2] == "r-1"
    assert [letter.replayed_at_us is not None for letter in letters] == [True, False, False, True]
    assert letters[1].replay_error == "messageId must be a non-empty string"
    assert "refused again" in sdsync("--all").stdout

    # The two that will never validate are discarded (status stops counting them), each kept for the audit.
    assert sdsync("--discard").returncode == 2
    assert "discarded 1 dead letter(s) (#2)" in sdsync("--discard", "2").stderr
    again = sdsync("--discard", "2", "1")
    assert again.returncode == 2 and "no waiting dead letter #1, #2" in again.stderr, "#1 was replayed: never discarded"
    assert "discarded 1 dead letter(s) (#3)" in sdsync("--discard", "--all").stderr
    store = open_journal(journal_url)
    assert (store.count_dead_letters(), store.count_discarded_letters()) == (0, 2)
    assert [letter.id for letter in store.list_dead_letters(include_replayed=True)] == [1, 4]
    store.close()
    assert "no dead letters waiting for a replay" in sdsync().stdout


def test_a_replayed_message_id_that_was_journaled_meanwhile_is_stored_once(tmp_path: Path) -> None:
    body = json.dumps(_message("twice-1")).encode()
    store = open_journal(tmp_path / "journal.sqlite")
    store.write_batch([inbound_row(body)], [], [DeadLetter("inbound", "was refused", 422, body, len(body), 1)])
    from smartdialog_sync.receiver.dead_letters import replay_dead_letters

    assert replay_dead_letters(store).replayed == [1]
    assert store.count_rows() == (1, 0)
    store.close()
