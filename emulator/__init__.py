"""A faithful local emulator of the SmartDialog API (see emulator/README.md)."""
