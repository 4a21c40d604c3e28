"""What every CLI command shares: the connection overrides, the one client, the console and exit codes.

Kept light on purpose: the CLI imports it for every command, so dlt, the API client and the databases
are imported only inside the functions that need them.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from smartdialog_sync.datadir import private_data_dir
from smartdialog_sync.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from smartdialog_sync.state.location import user_data_dir

if TYPE_CHECKING:
    from smartdialog_sync.api import ClientSettings, SmartDialogClient
    from smartdialog_sync.api.limiter import WaitCallback
    from smartdialog_sync.state.location import StateLocation

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "console", "stdout"]

console = Console(stderr=True, emoji=False)  # text from servers and CRMs: never markup, never :emoji: codes
stdout = Console(emoji=False)


def fit_consoles() -> None:
    """Size both consoles again from COLUMNS (else the terminal): they are made at import, and one process (a
    test's CliRunner, a notebook) may run several commands with different widths."""
    columns = os.environ.get("COLUMNS", "")
    for each in (console, stdout):
        each.width = int(columns) if columns.isdigit() and int(columns) > 0 else None  # type: ignore[assignment]


@dataclass
class Overrides:
    """Connection settings given on the command line; they win over config and environment."""

    values: dict[str, Any] = field(default_factory=dict)


def configure_logging(verbose: bool, log_format: Optional[str] = None) -> None:
    """Log to stderr: rich on a terminal, else one line per record (text or JSON); stamina's retries are warnings."""
    from smartdialog_sync.logs import configure_logging as configure

    configure(verbose, log_format, console)


def settings_from(ctx: typer.Context, **more: Any) -> ClientSettings:
    """The resolved settings of this invocation: config, environment, then command-line overrides."""
    from smartdialog_sync.api import resolve_settings

    overrides = ctx.find_object(Overrides)
    values = dict(overrides.values) if overrides else {}
    values.update({key: value for key, value in more.items() if value is not None})
    settings = resolve_settings(**values)
    private_data_dir(settings.data_dir)
    return settings


@contextmanager
def open_client(ctx: typer.Context, on_wait: Optional[WaitCallback] = None, **more: Any) -> Iterator[SmartDialogClient]:
    """The one API client for a command; waits for the limiter are reported on the console by default."""
    from smartdialog_sync.api import SmartDialogClient

    settings = settings_from(ctx, **more)
    with SmartDialogClient(settings, on_wait=on_wait or report_wait) as client:
        yield client


def report_wait(seconds: float, reason: str) -> None:
    """Tell the user why nothing happens for a while (used where no progress bar is shown)."""
    if seconds >= 1:
        console.print(f"[dim]waiting {seconds:.1f}s ({escape(reason)})[/dim]", markup=True, highlight=False)


def data_dir_from(ctx: typer.Context) -> Path:
    """The data dir from the command line, config or default, without resolving API credentials."""
    import dlt

    overrides = ctx.find_object(Overrides)
    chosen = overrides.values.get("data_dir") if overrides else None
    return private_data_dir(chosen or dlt.config.get("smartdialog.data_dir") or user_data_dir())


def unchecked_settings(ctx: typer.Context) -> ClientSettings:
    """This invocation's settings (config, environment, flags) without checking credentials; creates nothing."""
    from smartdialog_sync.api.resolve import read_settings

    overrides = ctx.find_object(Overrides)
    return read_settings(**(overrides.values if overrides else {}))


def state_from(ctx: typer.Context) -> StateLocation:
    """Where this invocation's stores live (data dir and `state_url`), without resolving API credentials."""
    settings = unchecked_settings(ctx)
    private_data_dir(settings.data_dir)
    return settings.state
