"""Running the receiver on uvicorn, with webhook registration at start (and optionally removal at exit).

Start-up fails with one line, never a traceback: an unusable secret file, a journal that cannot be
opened, a port that is taken, a registration SmartDialog refused. SIGTERM or SIGINT while the webhook
is being registered stops the process at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from smartdialog_sync.api import ClientSettings, SmartDialogClient
from smartdialog_sync.state.location import hide_password
from smartdialog_sync.errors import SdsyncError, SmartDialogError
from smartdialog_sync.journal import GroupCommitJournal, JournalError, open_journal
from smartdialog_sync.serving import AnnouncingServer, bind_socket
from smartdialog_sync.state.location import StateLocation
from smartdialog_sync.constants import RECEIVER_BODY_TIMEOUT_S, RECEIVER_MAX_BODY_BYTES

from .app import ExpectedRegistration, ReceiverSettings, create_app
from .errors import ReceiverStopped, RegistrationFailed
from .metrics import ReceiverMetrics
from .registration import register_webhooks, two_way_services, unregister_webhooks
from .secret import dlr_path, inbound_path, mask_secret, receiver_secret

log = logging.getLogger("receiver")


@dataclass
class ReceiverOptions:
    """How to run the receiver. Registration happens when both `public_url` and `customer` are set.

    The journal is `journal_url` when given, else the state's (`state_url`'s PostgreSQL, else a SQLite
    file in the data dir)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8787
    journal_url: str | None = None
    state_url: str | None = None
    public_url: str | None = None
    customer: str | None = None
    services: list[str] = field(default_factory=list)
    unregister_on_exit: bool = False
    max_batch: int = 2000
    max_body_bytes: int = RECEIVER_MAX_BODY_BYTES
    body_timeout_s: float = RECEIVER_BODY_TIMEOUT_S

    @property
    def journal(self) -> str | Path:
        """The journal: a `postgresql://` URL or a SQLite file (see `StateLocation.journal`)."""
        return StateLocation(self.data_dir, self.state_url).journal(self.journal_url)

    def secret(self) -> str:
        """The secret of the webhook URLs (kept in the journal when it is shared, see `receiver_secret`)."""
        return receiver_secret(self.data_dir, self.journal)


def webhook_urls(public_url: str, options: ReceiverOptions) -> tuple[str, str]:
    """(inbound URL, delivery report URL) under `public_url`; they contain the secret: never log them."""
    secret = options.secret()
    base = public_url.rstrip("/")
    return base + inbound_path(secret), base + dlr_path(secret)


def register(options: ReceiverOptions, settings: ClientSettings) -> None:
    """Register the NewMessage webhook of the configured services (idempotent)."""
    assert options.public_url and options.customer
    endpoint_url, _ = webhook_urls(options.public_url, options)
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
    check_journal(options.journal)
    store = open_journal(options.journal)
    try:
        with SmartDialogClient(settings) as api:
            return len(unregister_webhooks(api, store, options.customer, options.services or None))
    finally:
        store.close()


def build_app(
    options: ReceiverOptions,
    settings: ClientSettings | None = None,
    expected_registration: ExpectedRegistration | None = None,
) -> Starlette:
    """The receiver app for `options` (registration is done before, by `run_receiver`)."""
    metrics = ReceiverMetrics()
    journal_url = options.journal
    journal = GroupCommitJournal(lambda: open_journal(journal_url), max_batch=options.max_batch,
                                 on_commit=metrics.on_commit)
    receiver_settings = ReceiverSettings(options.secret(), options.max_body_bytes, options.body_timeout_s)
    on_shutdown = None
    if settings is not None and options.unregister_on_exit:
        client_settings = settings

        def on_shutdown() -> None:
            unregister(options, client_settings)

    return create_app(journal, receiver_settings, metrics, expected_registration=expected_registration,
                      on_shutdown=on_shutdown)


def check_journal(url: str | Path) -> None:
    """Open and close the journal once (creating its tables); JournalError with one line if that fails."""
    try:
        open_journal(url).close()
    except SdsyncError:
        raise
    except Exception as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise JournalError(f"cannot open the journal {hide_password(str(url))}: {detail}") from None


def run_interruptibly(function: Callable[[], None], what: str) -> None:
    """Run `function` in a helper thread; SIGTERM or SIGINT meanwhile raise ReceiverStopped at once.

    A call to SmartDialog can block for a long time (timeouts, retries); a process manager's SIGTERM
    must not wait for it. The helper thread is a daemon: it ends with the process.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread receives signals
        return function()
    failure: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise ReceiverStopped(f"stopped by {signal.Signals(signum).name} during {what}")

    worker = threading.Thread(target=target, name=what, daemon=True)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.start()
        worker.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure:
        raise failure[0]


def run_receiver(options: ReceiverOptions, settings: ClientSettings | None = None,
                 on_started: Callable[[], None] = lambda: None) -> None:
    """Serve until interrupted; `on_started` runs once requests are accepted. No access log: it would show secrets."""
    check_journal(options.journal)
    options.secret()
    sock = bind_socket(options.host, options.port)
    try:
        expected = None
        if settings is not None and options.public_url and options.customer:
            client_settings = settings
            run_interruptibly(lambda: register(options, client_settings), "webhook registration")
            expected = ExpectedRegistration(options.customer, tuple(options.services))
        config = uvicorn.Config(
            build_app(options, settings, expected),
            access_log=False,
            log_level="warning",
            log_config=None,  # uvicorn's records go to the command's handler: one line each when not a terminal
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=10,
        )
        try:
            AnnouncingServer(config, on_started).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn raises the SIGINT it handled again after a clean shutdown
            pass
    finally:
        sock.close()
