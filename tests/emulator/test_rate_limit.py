"""The per-connection (bearer token) sliding window: 429 with an integer Retry-After."""

from __future__ import annotations

import time

import httpx

CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


def test_429_past_the_window_with_retry_after(start_emulator) -> None:
    emu = start_emulator(rate_limit="5/2")
    with emu.api() as api:
        started = time.monotonic()
        statuses = [api.get("/customers").status_code for _ in range(5)]
        throttled = api.get("/customers")
        assert statuses == [200] * 5
        assert throttled.status_code == 429
        retry_after = throttled.headers["Retry-After"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 2
        assert throttled.json()["retry_after"] == int(retry_after)
        time.sleep(max(0.0, started + 2.05 - time.monotonic()))
        assert api.get("/customers").status_code == 200
    stats = emu.stats()
    assert stats["rate_limited"] == 1
    assert stats["calls_by_operation"]["GetUserCustomers"] == 7


def test_window_slides_instead_of_resetting(emulator) -> None:
    emulator.configure(rate_limit="4/3")
    with emulator.api() as api:
        assert [api.get("/customers").status_code for _ in range(2)] == [200, 200]
        first_two_done = time.monotonic()
        time.sleep(1.5)
        assert [api.get("/customers").status_code for _ in range(2)] == [200, 200]
        assert api.get("/customers").status_code == 429
        time.sleep(max(0.0, first_two_done + 3.05 - time.monotonic()))
        # the first two calls left the window, the last two (1.5 s later) did not
        assert [api.get("/customers").status_code for _ in range(3)] == [200, 200, 429]


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
