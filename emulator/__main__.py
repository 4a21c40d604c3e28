"""`python -m emulator`: run the SmartDialog emulator."""

import typer

from emulator.cli import emulator

if __name__ == "__main__":
    typer.run(emulator)
