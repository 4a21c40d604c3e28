"""`sdsync emulator`: run the local SmartDialog emulator (the command lives in emulator.cli)."""

from emulator.cli import emulator

__all__ = ["emulator"]
