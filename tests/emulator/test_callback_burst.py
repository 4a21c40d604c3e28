"""A burst of inbound messages to a real receiver: every callback delivered, the admin API answering meanwhile."""

from __future__ import annotations

import time
from typing import Any

from smartdialog_sync.journal import open_journal
from tests.emulator.test_callbacks import register
from tests.receiver.harness import receiver_factory  # noqa: F401

BURST = 5000
ADMIN_LATENCY_LIMIT_S = 2.0


def test_a_burst_of_5000_reaches_a_real_receiver_and_is_journaled(start_emulator: Any, receiver_factory: Any) -> None:
    emulator = start_emulator(rate_limit="100000/60")
    receiver = receiver_factory().start()
    with emulator.api() as api:
        register(api, receiver.inbound_url)
    sent = emulator.inbound("sms-twoway", "+358401234567", "burst", count=BURST)
    ids = {message["messageId"] for message in sent["messages"]}
    assert len(ids) == BURST

    slowest, seen_pending, deadline = 0.0, 0, time.monotonic() + 300
    while True:
        started = time.monotonic()
        callbacks = emulator.stats()["callbacks"]
        slowest = max(slowest, time.monotonic() - started)
        seen_pending = max(seen_pending, callbacks["pending"])
        if callbacks["delivered"] + callbacks["undelivered"] >= BURST and callbacks["pending"] == 0:
            break
        assert time.monotonic() < deadline, f"not delivered in time: {callbacks}"
        time.sleep(0.2)

    assert callbacks["delivered"] == BURST and callbacks["undelivered"] == 0, callbacks
    assert seen_pending > 0, "the burst was over before it was watched: the latency check checked nothing"
    assert slowest < ADMIN_LATENCY_LIMIT_S, f"the admin API took {slowest:.2f} s to answer during the burst"
    store = open_journal(receiver.data_dir / "journal.sqlite")
    try:
        journaled = store.read_arrow("inbound", 0, 2 * BURST).column("message_id").to_pylist()
    finally:
        store.close()
    assert sorted(journaled) == sorted(ids), "each message journaled exactly once"
