"""The per-connection (bearer token) sliding window: 429 with an integer Retry-After."""

from __future__ import annotations

import math
import time

import httpx

CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


def test_429_past_the_window_with_retry_after(start_emulator) -> None:
    emu = start_emulator(rate_limit="5/3600")  # a window no machine is too slow to fill
    with emu.api() as api:
        started = time.monotonic()
        statuses = [api.get("/customers").status_code for _ in range(5)]
        throttled = api.get("/customers")
        waited = time.monotonic() - started
        assert statuses == [200] * 5
        assert throttled.status_code == 429
        retry_after = throttled.headers["Retry-After"]
        # until the first call leaves the window, rounded up: it was admitted within `waited` seconds
        assert retry_after.isdigit() and 3600 - math.ceil(waited) <= int(retry_after) <= 3600
        assert throttled.json()["retry_after"] == int(retry_after)
        emu.configure(rate_limit="5/2")  # the recorded calls are kept; they leave 2 s after they were admitted
        time.sleep(2.05)
        assert api.get("/customers").status_code == 200
    stats = emu.stats()
    assert stats["rate_limited"] == 1
    assert stats["calls_by_operation"]["GetUserCustomers"] == 7


def test_window_slides_instead_of_resetting(emulator) -> None:
    """Calls leave the window one by one: with the cut between two pairs of calls, only the older pair left."""
    emulator.configure(rate_limit="4/3600")
    gap = 2.0
    with emulator.api() as api:
        assert [api.get("/customers").status_code for _ in range(2)] == [200, 200]
        older_done = time.monotonic()  # the older pair was admitted before this
        time.sleep(gap)
        newer_sent = time.monotonic()  # the newer pair is admitted after this
        assert [api.get("/customers").status_code for _ in range(2)] == [200, 200]
        assert api.get("/customers").status_code == 429
        # a window ending halfway between the pairs: the older pair is out, the newer one in
        cut = (older_done + newer_sent) / 2
        configured = time.monotonic()
        emulator.configure(rate_limit=f"4/{configured - cut:.3f}")
        statuses = [api.get("/customers").status_code for _ in range(3)]
        drift = time.monotonic() - configured  # how far the cut moved forward while checking
    assert statuses == [200, 200, 429], f"{statuses}; the cut moved {drift:.2f} s of the {gap / 2} s margin"
def test_each_token_has_its_own_window(emulator) -> None:
    emulator.configure(rate_limit="2/60")
    issued = httpx.post(emulator.root_url + "/oauth2/v2.0/token",
                        data={"grant_type": "client_credentials", **CLIENT}).json()["access_token"]
    with emulator.api() as sandbox, emulator.api(token=issued) as other:
        assert [sandbox.get("/customers").status_code for _ in range(3)] == [200, 200, 429]
        assert [other.get("/customers").status_code for _ in range(3)] == [200, 200, 429]


def test_reset_restores_the_startup_limit(emulator) -> None:
    emulator.configure(rate_limit="1/60")
    emulator.reset()
    assert emulator.admin.get("/config").json()["rate_limit"] == "100000/60"
