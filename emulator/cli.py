"""The emulator command line (`python -m emulator` and `sdsync emulator`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from smartdialog_sync.emulator.config import EmulatorSettings
from smartdialog_sync.emulator.faults import FaultSettings
from smartdialog_sync.rate_limit import RateLimit
from smartdialog_sync.emulator.seed import SeedError
from smartdialog_sync.errors import ConfigurationError, UsageError


def _rate_limit(value: str) -> RateLimit:
    try:
        return RateLimit.parse(value)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None


def _statuses(value: str) -> list[int]:
    try:
        statuses = [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter("must be comma-separated status codes, e.g. 500,503") from None
    if not statuses or not all(500 <= s <= 599 for s in statuses):
        raise typer.BadParameter("must be 5xx status codes, e.g. 500,503")
    return statuses


def _ratio(value: float) -> float:
    if not 0 <= value <= 1:
        raise typer.BadParameter("must be between 0 and 1")
    return value


def emulator(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, help="Port to listen on."),
    seed: Optional[Path] = typer.Option(None, help="Seed JSON file (default: the built-in seed)."),
    state: Optional[Path] = typer.Option(None, help="JSON file keeping the state across restarts."),
    rate_limit: str = typer.Option("100/60", help="Calls per connection (bearer token) per window: N/SECONDS."),
    token_expires_in: int = typer.Option(3600, min=1, help="Lifetime of issued access tokens, seconds."),
    dlr_delay: float = typer.Option(0.2, min=0, help="Seconds from sending to the delivery report."),
    dlr_seed: int = typer.Option(0, help="Seed of the delivered/failed draw."),
    duplicate_rate: float = typer.Option(0.0, callback=_ratio, help="Share of callbacks delivered twice."),
    callback_retry_seconds: float = typer.Option(30.0, min=0, help="How long failed callbacks are retried."),
    error_rate: float = typer.Option(0.0, callback=_ratio, help="Share of API calls answered 500/503."),
    error_statuses: str = typer.Option("500,503", help="Statuses for injected errors, comma-separated."),
    latency_ms: int = typer.Option(0, min=0, help="Latency added to every API call."),
    drop_after_processing_rate: float = typer.Option(
        0.0, callback=_ratio, help="Share of API calls processed, then answered by closing the connection."),
    fault_seed: Optional[int] = typer.Option(None, help="Seed of the fault draws."),
    max_recipients: int = typer.Option(
        1000, min=1, max=1000, help="Most recipients one send accepts; more is a 400 naming Recipients."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Run the SmartDialog emulator (API under /api-integrations/v1, admin under /_emulator)."""
    from smartdialog_sync.emulator.app import create_app
    from smartdialog_sync.emulator.server import serve

    settings = EmulatorSettings(
        rate_limit=_rate_limit(rate_limit), token_expires_in=token_expires_in, dlr_delay_seconds=dlr_delay,
        dlr_seed=dlr_seed, duplicate_rate=duplicate_rate, callback_retry_seconds=callback_retry_seconds,
        max_recipients=max_recipients,
    )
    faults = FaultSettings(error_rate=error_rate, error_statuses=_statuses(error_statuses), latency_ms=latency_ms,
                           drop_after_processing_rate=drop_after_processing_rate, seed=fault_seed)
    try:
        app = create_app(seed, state, settings, faults)
    except SeedError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read state file {state}: {exc}") from None

    def announce() -> None:
        typer.echo(f"SmartDialog emulator on http://{host}:{port}/api-integrations/v1 (token: sandbox-token)", err=True)

    serve(app, host, port, log_level, on_started=announce)
