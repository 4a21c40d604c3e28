"""Several receivers on one PostgreSQL journal: a reader following the sequence never skips a row."""

from __future__ import annotations

import asyncio
import json
import threading

from bench.http_load import ConnectionLost, KeepAliveConnection
from smartdialog_sync.journal import open_journal

MESSAGES = 6_000
CONNECTIONS = 32
MAX_ATTEMPTS = 20  # per message: a receiver that keeps refusing fails the test instead of hanging it


async def _post_all(receiver, indexes: list[int], acknowledged: set[str]) -> None:
    path = receiver.inbound_url.removeprefix(receiver.root_url)
    pending = list(indexes)

    async def worker() -> None:
        connection = KeepAliveConnection(receiver.port)
        while pending:
            message_id = f"multi-{pending.pop()}"
            answers = []
            while len(answers) < MAX_ATTEMPTS:
                try:
                    status, answer = await connection.request("POST", path, json.dumps({"messageId": message_id}).encode())
                except ConnectionLost:
                    answers.append("connection lost")
                    await asyncio.sleep(0.1)
                    continue
                if status == 200:
                    acknowledged.add(message_id)
                    break
                assert status >= 500, f"{message_id}: {status} {answer!r}"  # only a server error is worth repeating
                answers.append(f"{status} {answer!r}")
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"{message_id} never accepted in {MAX_ATTEMPTS} attempts: {answers}")
        connection.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))


def test_a_reader_following_the_sequence_misses_nothing_while_two_receivers_write(
    postgres_url, receiver_factory
) -> None:
    first = receiver_factory(postgres_url).start()
    second = receiver_factory(postgres_url).start()
    assert first.secret == second.secret, "instances behind one URL share the secret file"
    seen: list[str] = []
    reads = [0]
    stop = threading.Event()

    def follow() -> None:
        """What an incremental pull does: read after the highest sequence seen so far."""
        store = open_journal(postgres_url)
        cursor = 0
        try:
            while True:
                finished = stop.is_set()
                rows = store.read_inbound(cursor, 100_000)
                reads[0] += 1
                if rows:
                    seen.extend(row[1] for row in rows)
                    cursor = rows[-1][0]
                elif finished:
                    return
        finally:
            store.close()

    reader = threading.Thread(target=follow)
    reader.start()
    acknowledged: set[str] = set()

    async def load() -> None:
        await asyncio.gather(_post_all(first, list(range(0, MESSAGES, 2)), acknowledged),
                             _post_all(second, list(range(1, MESSAGES, 2)), acknowledged))

    try:
        asyncio.run(load())
    finally:
        stop.set()
        reader.join(60)
    assert reads[0] > 20, "the reader ran during the load"
    assert len(acknowledged) == MESSAGES
    assert len(seen) == len(set(seen)) and set(seen) == acknowledged, "rows committed behind the cursor were skipped"
