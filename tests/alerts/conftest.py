"""A local webhook (tests/support/callback_server.py on Slack's path) and a local SMTP server for the alert tests."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.postgres import postgres_database
from tests.servers import free_port
from tests.support.callback_server import CallbackServer

WEBHOOK_SECRET_PATH = "/services/T000/B000/very-secret-token"


class SlackWebhook(CallbackServer):
    """A CallbackServer on the path of a Slack incoming webhook (the path holds its secret)."""

    def __init__(self) -> None:
        super().__init__(path=WEBHOOK_SECRET_PATH)

    def texts(self) -> list[str]:
        """The `text` of each alert received."""
        return [request.body["text"] for request in self.received]


@pytest.fixture()
def webhook() -> Iterator[SlackWebhook]:
    with SlackWebhook() as server:
        yield server


class Mailbox:
    """aiosmtpd's handler: keeps each message it is given."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        from email import message_from_bytes

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture()
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the data dir's SQLite file) or a fresh PostgreSQL database as the shared state."""
    if request.param == "sqlite":
        yield None
    else:
        yield from postgres_database()
