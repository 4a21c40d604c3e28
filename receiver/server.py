"""Running the receiver on uvicorn, with webhook registration at start (and optionally removal at exit)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from smartdialog_sync.api import ClientSettings, SmartDialogClient
from smartdialog_sync.errors import SmartDialogError

from .app import MAX_BODY_BYTES, create_app
from smartdialog_sync.journal import JOURNAL_FILE_NAME, GroupCommitJournal, open_journal
from .registration import register_webhooks, two_way_services, unregister_webhooks
from .secret import dlr_path, inbound_path, load_or_create_secret, mask_secret

log = logging.getLogger("receiver")


@dataclass
class ReceiverOptions:
    """How to run the receiver. Registration happens when both `public_url` and `customer` are set."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8787
    journal_url: str | None = None
    public_url: str | None = None
    customer: str | None = None
    services: list[str] = field(default_factory=list)
    unregister_on_exit: bool = False
    max_batch: int = 2000
    max_body_bytes: int = MAX_BODY_BYTES

    @property
    def journal(self) -> str:
        """The journal URL or path; a SQLite file in the data dir by default."""
        return self.journal_url or default_journal_url(self.data_dir)


def default_journal_url(data_dir: Path) -> str:
    """Where `serve` and `pull` keep the journal when no --journal is given."""
    return str(Path(data_dir) / JOURNAL_FILE_NAME)


def webhook_urls(public_url: str, data_dir: Path) -> tuple[str, str]:
    """(inbound URL, delivery report URL) under `public_url`; they contain the secret: never log them."""
    secret = load_or_create_secret(data_dir)
    base = public_url.rstrip("/")
    return base + inbound_path(secret), base + dlr_path(secret)


class RegistrationFailed(RuntimeError):
    """The webhook could not be registered (the message has the secret masked)."""


def register(options: ReceiverOptions, settings: ClientSettings) -> None:
    """Register the NewMessage webhook of the configured services (idempotent)."""
    assert options.public_url and options.customer
    endpoint_url, _ = webhook_urls(options.public_url, options.data_dir)
    store = open_journal(options.journal)
    try:
        with SmartDialogClient(settings) as api:
            services = options.services or two_way_services(api, options.customer)
            register_webhooks(api, store, options.customer, services, endpoint_url)
    except SmartDialogError as exc:
        raise RegistrationFailed(f"webhook registration failed: {mask_secret(str(exc))}") from None
    finally:
        store.close()


def unregister(options: ReceiverOptions, settings: ClientSettings) -> int:
    """Remove the saved registrations (of `customer`/`services` when set); returns how many."""
    store = open_journal(options.journal)
    try:
        with SmartDialogClient(settings) as api:
            return len(unregister_webhooks(api, store, options.customer, options.services or None))
    finally:
        store.close()


def build_app(options: ReceiverOptions, settings: ClientSettings | None = None) -> Starlette:
    """The receiver app for `options`; registers at start-up when a public URL, customer and settings are given."""
    secret = load_or_create_secret(options.data_dir)
    journal_url = options.journal
    journal = GroupCommitJournal(lambda: open_journal(journal_url), max_batch=options.max_batch)
    if settings is None or not (options.public_url and options.customer):
        return create_app(journal, secret, max_body_bytes=options.max_body_bytes)
    client_settings = settings

    def on_startup() -> None:
        register(options, client_settings)

    def on_shutdown() -> None:
        unregister(options, client_settings)

    return create_app(
        journal,
        secret,
        max_body_bytes=options.max_body_bytes,
        on_startup=on_startup,
        on_shutdown=on_shutdown if options.unregister_on_exit else None,
    )


def run_receiver(options: ReceiverOptions, settings: ClientSettings | None = None) -> None:
    """Serve until interrupted. uvicorn's access log is off: it would print the secret paths."""
    app = build_app(options, settings)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
