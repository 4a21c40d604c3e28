"""`python -m emulator`: run the SmartDialog emulator."""

import typer

from smartdialog_sync.emulator.cli import emulator

if __name__ == "__main__":
    typer.run(emulator)
