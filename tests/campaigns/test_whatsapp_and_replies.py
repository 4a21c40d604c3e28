"""`sdsync send-whatsapp` grouping, `sdsync reply` (reply and discussion reply) and `whatsapp template create`."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from tests.campaigns.helpers import phone

WHATSAPP = ["send-whatsapp", "--customer", "demo-customer", "--service", "sms-oneway"]


def _orders_crm(path: Path, count: int) -> str:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE orders (msisdn TEXT, order_no TEXT)")
    connection.executemany("INSERT INTO orders VALUES (?, ?)", [(phone(i), f"A{i % 3}") for i in range(count)])
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def test_whatsapp_recipients_are_grouped_by_body_parameters(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = _orders_crm(tmp_path / "orders.sqlite", 30)
    result = sdsync(*WHATSAPP, "--source", crm, "--query", "SELECT msisdn, order_no FROM orders", "--phone-column", "msisdn",
                    "--template", "order_ready", "--body-params", "order_no", "--buttons", "quickreply:OK", "--sms-fallback",
                    "--batch-size", "4", "--yes")
    assert result.exit_code == 0, result.output
    assert "API calls: 9 (up to 4 recipients each) instead of 30 (one per recipient);" in result.output
    assert emulator.calls("SendWhatsappTemplateMessage") == 9  # 3 parameter sets x ceil(10 / 4)
    messages = emulator.messages()
    assert Counter(m["address"] for m in messages) == Counter({phone(i): 1 for i in range(30)})
    assert {m["content"] for m in messages if m["address"] == phone(4)} == {"Hello! Your order A1 is ready for pickup."}
    assert {(m["template_name"], m["use_sms_fallback"]) for m in messages} == {("order_ready", True)}


def test_unknown_template_and_wrong_parameters_are_refused(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = _orders_crm(tmp_path / "orders.sqlite", 3)
    base = [*WHATSAPP, "--source", crm, "--query", "SELECT msisdn AS phone, order_no FROM orders", "--yes"]
    unknown = sdsync(*base, "--template", "no_such_template")
    assert unknown.exit_code == 2 and "unknown WhatsApp template 'no_such_template'" in unknown.output
    assert "order_ready" in unknown.output
    wrong = sdsync(*base, "--template", "order_ready")
    assert wrong.exit_code == 2 and "takes 1 body parameter(s); --body-params gives 0" in wrong.output
    assert emulator.calls("SendWhatsappTemplateMessage") == 0


def test_reply_and_discussion_reply(sdsync: Callable[..., Any], emulator: Any) -> None:
    received = emulator.inbound("sms-twoway", phone(1), "Is my order ready?")["messages"][0]
    args = ["reply", "--customer", "demo-customer", "--parent-message-id", received["messageId"], "--service", "sms-twoway",
            "--sender", "+358401000001", "--to", "0401000001", "--content", "Yes, it is."]
    first = sdsync(*args)
    assert first.exit_code == 0, first.output
    answer = json.loads(first.stdout)
    assert answer["message_id"] and answer["recipients"][0]["address"] == phone(1)
    again = sdsync(*args)
    assert again.exit_code == 0 and "Already sent" in again.output
    replies = [m for m in emulator.messages(phone(1)) if m["operation"] == "SendReplyMessage"]
    assert len(replies) == 1 and replies[0]["content"] == "Yes, it is."

    discussion = sdsync("reply", "--customer", "demo-customer", "--thread-id", received["threadId"], "--content", "Anything else?")
    assert discussion.exit_code == 0, discussion.output
    assert [m["content"] for m in emulator.messages(phone(1)) if m["operation"] == "SendDiscussionReplyMessage"] == ["Anything else?"]

    both = sdsync("reply", "--customer", "demo-customer", "--thread-id", "t", "--parent-message-id", "p", "--content", "x")
    assert both.exit_code == 2 and "exactly one of" in both.output
    bad_phone = sdsync(*args[:-4], "--to", "12", "--content", "x")
    assert bad_phone.exit_code == 2 and "--to" in bad_phone.output


def test_template_create(sdsync: Callable[..., Any], emulator: Any) -> None:
    base = ["whatsapp", "template", "create", "--customer", "demo-customer", "--identity", "+358401000000",
            "--name", "spring_sale", "--language", "en", "--content", "Spring sale: {{1}} off!"]
    created = sdsync(*base, "--category", "MARKETING", "--button", "Url:Shop now:https://example.com/shop")
    assert created.exit_code == 0, created.output
    with emulator.api() as api:
        templates = api.get("/whatsapp/templates/demo-customer").json()
    assert "Spring sale: {{1}} off!" in [t["extensionParameters"]["rawContent"] for t in templates]
    bad_category = sdsync(*base, "--category", "SPAM")
    assert bad_category.exit_code == 2 and "unknown category 'SPAM'" in bad_category.output
    bad_button = sdsync(*base, "--category", "MARKETING", "--button", "Call:Ring us:+35840123456789012345678")
    assert bad_button.exit_code == 2 and "the API allows 20" in bad_button.output
    bad_identity = sdsync(*base[:6], "+358409999999", *base[7:], "--category", "MARKETING")
    assert bad_identity.exit_code == 2 and "unknown identity" in bad_identity.output
    bad_fields = sdsync(*base[:7], "--name", "n" * 101, "--language", "english", "--content", "x", "--category", "MARKETING")
    assert bad_fields.exit_code == 2
    assert "--name: String should have at most 100 characters" in bad_fields.output and "--language:" in bad_fields.output
