"""`sdsync emulator`: run the local SmartDialog emulator (the command lives in emulator.cli)."""

from smartdialog_sync.emulator.cli import emulator

__all__ = ["emulator"]
