"""Bad requests fail locally with a clear message and cost no API call."""

from __future__ import annotations

import pytest

from smartdialog_sync import errors
from tests.api.wire_server import WireServer

RECIPIENTS = [{"address": "+358401234567"}]


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda api: api.send_message("c", "s", {"content": "x", "recipients": RECIPIENTS}), "Sender: Field required"),
        (lambda api: api.send_message("c", "s", {"sender": "S", "content": "x", "recipients": []}), "recipients"),
        (lambda api: api.send_message("c", "s", {"sender": "S", "content": "x", "recipients": RECIPIENTS, "customer_data": "x" * 256}), "customer_data"),
        (lambda api: api.send_message("c", "s", {"sender": "S", "content": "x", "recipients": RECIPIENTS, "request_id": "r" * 1001}), "request_id"),
        (lambda api: api.send_message("c", "s", {"sender": "S", "content": "x", "recipients": RECIPIENTS, "protocol": "MMS"}), "protocol"),
        (lambda api: api.send_whatsapp_template_message("c", "s", {"template_name": "t", "recipients": RECIPIENTS, "buttons": [{"type": "Link", "data": "x"}]}), "buttons.0.type"),
        (lambda api: api.create_whatsapp_template("c", "i", {"display_name": "d" * 101, "raw_content": "x", "category": "U", "language": "fi"}), "display_name"),
        (lambda api: api.create_whatsapp_template("c", "i", {"display_name": "d", "raw_content": "x", "category": "U", "language": "fin"}), "language"),
        (lambda api: api.create_group_contact("c", "g", {"first_name": "A"}), "phone: Field required"),
        (lambda api: api.create_group_contact("c", "g", {"phone": "1", "gender": "male"}), "gender"),
        (lambda api: api.update_group_contact("c", "g", "1", {"birth_year": "nineteen"}), "birth_year"),
        (lambda api: api.update_group_contact("c", "g", "1", {"nickname": "x"}), "nickname"),
        (lambda api: api.get_customer_services("c", "ThreeWay"), "OneWay"),
        (lambda api: api.send_discussion_reply_message("c", {"content": "x"}), "ThreadId: Field required"),
    ],
)
def test_invalid_request_costs_no_call(client, wire: WireServer, call, expected: str) -> None:
    with pytest.raises(errors.RequestInvalid) as caught:
        call(client)
    assert expected in str(caught.value)
    assert wire.requests == []
    assert client.stats.calls == 0
