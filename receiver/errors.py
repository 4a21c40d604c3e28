"""Errors of the receiver (all SdsyncError: the CLI shows them as one line)."""

from __future__ import annotations

from smartdialog_sync.errors import SdsyncError, UsageError


class ReceiverError(SdsyncError):
    """The receiver cannot start or run (a taken port is `smartdialog_sync.errors.PortUnavailable`)."""


class RegistrationFailed(ReceiverError):
    """The webhook could not be registered (the message has the secret masked)."""


class ReceiverStopped(ReceiverError):
    """A signal stopped the receiver before it was serving."""


class SecretFileError(UsageError):
    """The receiver's secret file is unreadable or holds no usable secret."""
