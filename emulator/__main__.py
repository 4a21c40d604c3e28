"""`python -m smartdialog_sync.emulator`: run the SmartDialog emulator; an error of ours ends as one line."""

import sys

import typer

from smartdialog_sync.emulator.cli import emulator
from smartdialog_sync.errors import EXIT_USAGE, SdsyncError
from smartdialog_sync.logs import configure_logging

if __name__ == "__main__":
    configure_logging()
    try:
        typer.run(emulator)
    except SdsyncError as exc:
        typer.echo(f"{'error' if exc.exit_code == EXIT_USAGE else 'failed'}: {exc}", err=True)
        sys.exit(exc.exit_code)
