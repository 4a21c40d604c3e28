"""`sdsync serve`: the webhook receiver for inbound messages and delivery reports."""

from __future__ import annotations

from typing import Optional

import typer

from smartdialog_sync.constants import RECEIVER_BODY_TIMEOUT_S, RECEIVER_MAX_BODY_BYTES
from smartdialog_sync.errors import ConfigurationError

from ..runtime import console, settings_from, state_from, stdout
from .journal import JOURNAL_HELP

# The receiver (starlette, uvicorn, the API client) is imported inside the command: `sdsync --help` stays fast.


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8787, min=1, max=65535, help="Port to listen on."),
    journal: Optional[str] = typer.Option(None, help=JOURNAL_HELP),
    public_url: Optional[str] = typer.Option(
        None, help="URL at which SmartDialog reaches this receiver (needed to register the webhook); "
        "default [receiver] public_url, which tracked links start with too."
    ),
    customer: Optional[str] = typer.Option(None, "--customer", "-c", help="Customer whose webhook to register."),
    service: Optional[list[str]] = typer.Option(
        None, "--service", "-s", help="Two-way service(s) to register; all of the customer's when left out."
    ),
    unregister_now: bool = typer.Option(
        False, "--unregister", help="Remove the saved webhook registrations at SmartDialog and exit."
    ),
    unregister_on_exit: bool = typer.Option(False, help="Remove the webhook registrations on a clean shutdown."),
    max_batch: int = typer.Option(2000, min=1, help="Most rows per journal commit; 1 commits every request alone."),
    max_body_bytes: int = typer.Option(RECEIVER_MAX_BODY_BYTES, min=1024, help="Largest accepted request body."),
    body_timeout: float = typer.Option(
        RECEIVER_BODY_TIMEOUT_S, min=0.1, help="Seconds a request body may take to arrive; a slower one is answered 408."
    ),
    print_dlr_url: bool = typer.Option(
        False, "--print-dlr-url", help="Print the delivery report URL for `sdsync send --dlr-url` (needs --public-url) and exit."
    ),
) -> None:
    """Receive NewMessage webhooks (POST) and delivery reports (GET) into a durable journal.

    Every request is answered 2xx only after its row is committed. The webhook URLs carry a random
    secret kept in <data-dir>/receiver_secret, or in the journal when it is PostgreSQL (every receiver
    sharing it serves the same URLs); the delivery report URL for sends is
    PUBLIC_URL/hooks/SECRET/dlr. A refused payload is kept in the journal's dead-letter table
    (`sdsync journal dead-letters`). GET /healthz, /readyz and /metrics (Prometheus) need no secret.
    """
    from smartdialog_sync.destinations.campaigns.links import configured_public_url
    from smartdialog_sync.receiver.secret import MASK
    from smartdialog_sync.receiver.server import (
        ReceiverOptions,
        run_receiver,
        unregister,
        webhook_urls,
    )

    from smartdialog_sync.state.location import hide_password

    state = state_from(ctx)
    public_url = public_url or (configured_public_url() if customer or print_dlr_url else None)
    if print_dlr_url:
        if not public_url:
            raise typer.BadParameter("--print-dlr-url needs --public-url", param_hint="--public-url")
        dlr_options = ReceiverOptions(data_dir=state.data_dir, journal_url=journal, state_url=state.url)
        stdout.print(webhook_urls(public_url, dlr_options)[1], soft_wrap=True)
        return
    if (public_url or unregister_on_exit) and not customer and not unregister_now:
        raise typer.BadParameter("registering the webhook needs --customer", param_hint="--customer")
    wants_api = bool(unregister_now or (public_url and customer))
    try:
        settings = settings_from(ctx)
    except ConfigurationError:
        if wants_api:
            raise
        settings = None
    options = ReceiverOptions(
        data_dir=state.data_dir,
        host=host,
        port=port,
        journal_url=journal,
        state_url=state.url,
        public_url=public_url,
        customer=customer,
        services=list(service or []),
        unregister_on_exit=unregister_on_exit,
        max_batch=max_batch,
        max_body_bytes=max_body_bytes,
        body_timeout_s=body_timeout,
    )
    if unregister_now:
        assert settings is not None
        removed = unregister(options, settings)
        console.print(f"removed {removed} webhook registration(s)")
        return
    where = f"http://{host}:{port}/hooks/{MASK}/inbound (POST) and /hooks/{MASK}/dlr (GET); /healthz /readyz /metrics"

    def announce() -> None:
        console.print(f"receiving on {where}; journal {hide_password(str(options.journal))}", markup=False, soft_wrap=True)
        if not wants_api:
            console.print("[dim]no --public-url/--customer: no webhook is registered[/dim]")

    run_receiver(options, settings if wants_api else None, on_started=announce)


