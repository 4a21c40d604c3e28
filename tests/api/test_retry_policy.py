"""429, 5xx, timeouts and dropped connections: retried only where repeating is safe."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from smartdialog_sync import errors
from smartdialog_sync.api.retry import parse_retry_after
from tests.api.conftest import make_client
from tests.api.wire_server import Reply, WireServer

SEND = {"sender": "S", "content": "x", "recipients": [{"address": "+358401234567"}]}
OK_SEND = Reply(200, {"MessageId": "m1", "Recipients": []})


def test_429_honours_retry_after_seconds(client, wire: WireServer) -> None:
    waits: list[tuple[float, str]] = []
    client.on_wait = lambda seconds, reason: waits.append((seconds, reason))
    wire.reply(Reply(429, {"error": "slow down"}, {"Retry-After": "1"}), Reply(200, {"customerUsers": []}))
    started = time.monotonic()
    assert client.get_user_customers() == []
    assert time.monotonic() - started >= 1.0
    assert waits == [(1.0, "Retry-After")]
    assert client.stats.throttled == 1 and client.stats.calls == 2


def test_429_honours_retry_after_http_date(client, wire: WireServer) -> None:
    wire.reply(Reply(429, None, {"Retry-After": formatdate(time.time() + 2, usegmt=True)}), OK_SEND)
    started = time.monotonic()
    client.send_message("c", "s", SEND)  # a POST without RequestId: 429 means not processed, safe
    assert time.monotonic() - started >= 1.0
    assert len(wire.requests) == 2


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_429_until_budget_spent_raises_rate_limited(client, wire: WireServer) -> None:
    wire.default = Reply(429, {"error": "quota"}, {"Retry-After": "0"})
    with pytest.raises(errors.RateLimited) as caught:
        client.get_phone_number_regions()
    assert "GetPhoneNumberRegions" in str(caught.value) and "429" in str(caught.value) and "quota" in str(caught.value)
    assert len(wire.requests) == client.retry.attempts


def test_retry_after_beyond_bound_is_not_waited(client, wire: WireServer) -> None:
    waits: list[tuple[float, str]] = []
    client.on_wait = lambda seconds, reason: waits.append((seconds, reason))
    wire.reply(Reply(429, None, {"Retry-After": "3600"}))
    with pytest.raises(errors.RateLimited):
        client.get_phone_number_regions()
    assert waits == [] and len(wire.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_get_retries_server_errors(client, wire: WireServer, status: int) -> None:
    wire.reply(Reply(status, {"error": "boom"}), Reply(200, ["UTILITY"]))
    assert client.get_whatsapp_template_categories() == ["UTILITY"]
    assert len(wire.requests) == 2 and client.stats.retries == 1


def test_put_and_delete_are_retried_after_a_dropped_connection(client, wire: WireServer) -> None:
    wire.reply(Reply(drop=True), Reply(200, True), Reply(drop=True), Reply(200, True))
    assert client.update_group_contact("c", "g", "+358401234567", {"first_name": "A"}) is True
    assert client.delete_group_contact("c", "g", "+358401234567") is True
    assert [r.method for r in wire.requests] == ["PUT", "PUT", "DELETE", "DELETE"]


def test_send_with_request_id_is_repeated_with_the_same_id(client, wire: WireServer) -> None:
    wire.reply(Reply(503), Reply(drop=True), OK_SEND)
    result = client.send_message("c", "s", {**SEND, "request_id": "batch-7"})
    assert result.message_id == "m1"
    assert [r.json()["RequestId"] for r in wire.requests] == ["batch-7"] * 3


def test_send_with_request_id_exhausted_is_outcome_unknown(client, wire: WireServer) -> None:
    wire.default = Reply(503, {"error": "down"})
    with pytest.raises(errors.OutcomeUnknown) as caught:
        client.send_message("c", "s", {**SEND, "request_id": "batch-8"})
    assert "same RequestId" in str(caught.value) and "503" in str(caught.value)


@pytest.mark.parametrize("failure", [Reply(503, {"error": "down"}), Reply(drop=True)])
def test_unsafe_post_is_not_repeated(client, wire: WireServer, failure: Reply) -> None:
    wire.reply(failure)
    with pytest.raises(errors.OutcomeUnknown) as caught:
        client.create_group_contact("c", "g", {"phone": "+358401234567"})
    assert "CreateGroupContact" in str(caught.value) and "may have been processed" in str(caught.value)
    assert len(wire.requests) == 1


def test_send_without_request_id_is_not_repeated_after_timeout(wire: WireServer, tmp_path) -> None:
    import threading

    release = threading.Event()
    original = wire._server.RequestHandlerClass._handle

    def slow(handler) -> None:
        release.wait(3)
        original(handler)

    wire._server.RequestHandlerClass.do_POST = slow
    with make_client(wire, tmp_path, timeout=0.5) as api:
        with pytest.raises(errors.OutcomeUnknown) as caught:
            api.send_message("c", "s", SEND)
    release.set()
    assert "ReadTimeout" in str(caught.value)


def _refusing_url(host: str) -> str:
    """A base URL on `host` whose port is bound and never listening: connections to it are refused."""
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return f"http://{host}:{probe.getsockname()[1]}/api-integrations/v1"


def _non_loopback_address() -> str:
    """An address of this machine that is not a loopback one (the source address of its default route)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the route's source address
        except OSError:
            pytest.skip("this machine has no non-loopback IPv4 route")
        return probe.getsockname()[0]


def test_connection_refused_is_retried_then_transport_error(tmp_path) -> None:
    class Closed:
        base_url = _refusing_url(_non_loopback_address())

    with make_client(Closed, tmp_path) as api:  # type: ignore[arg-type]
        with pytest.raises(errors.TransportError) as caught:
            api.create_group_contact("c", "g", {"phone": "+358401234567"})
        assert api.stats.calls == api.retry.attempts  # never reached the service: safe to repeat
    assert "CreateGroupContact" in str(caught.value)


def test_connection_refused_on_a_loopback_url_fails_at_once(tmp_path) -> None:
    class Closed:
        base_url = _refusing_url("127.0.0.1")

    with make_client(Closed, tmp_path) as api:  # type: ignore[arg-type]
        with pytest.raises(errors.TransportError, match="nothing is listening at .* `sdsync emulator --port"):
            api.create_group_contact("c", "g", {"phone": "+358401234567"})
        assert api.stats.calls == 1  # nothing listens on this machine: retrying cannot help


@pytest.mark.parametrize("status, kind", [(400, errors.BadRequest), (404, errors.NotFound), (409, errors.Conflict), (403, errors.Unauthorized)])
def test_client_errors_are_final_and_named(client, wire: WireServer, status: int, kind) -> None:
    wire.reply(Reply(status, {"error": "what the server said"}))
    with pytest.raises(kind) as caught:
        client.create_group_contact("c", "g", {"phone": "+358401234567"})
    text = str(caught.value)
    assert "CreateGroupContact" in text and str(status) in text and "what the server said" in text
    assert len(wire.requests) == 1
