"""The one error tree of smartdialog-sync.

Every error of ours derives from `SdsyncError`, which carries the exit code the CLI ends with
(1: the job failed, rerun or fix the service side; 2: bad usage, input or configuration). The CLI
maps them in one place (`smartdialog_sync.pipelines.cli.main`). API errors name the operation, the
status and what the server said.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class SdsyncError(Exception):
    """Base of every error smartdialog-sync raises; `exit_code` is what the CLI exits with."""

    exit_code = EXIT_FAILURE


class UsageError(SdsyncError):
    """Bad input, options or configuration found before any work was done."""

    exit_code = EXIT_USAGE


class SignInFailed(SdsyncError):
    """`sdsync auth login` got no tokens: consent denied, state mismatch, timeout or the code refused."""


class PortUnavailable(SdsyncError):
    """A server (the receiver, the emulator) cannot listen on its host and port: taken, or no such address."""


class SignInPortBusy(UsageError):
    """The loopback port for the sign-in redirect is already in use."""


class SmartDialogError(SdsyncError):
    """Base of every error the API client raises."""

    def __init__(self, operation: str, message: str, status: int | None = None, detail: str = "") -> None:
        self.operation = operation
        self.status = status
        self.detail = detail
        text = f"{operation}: {message}"
        if status is not None:
            text += f" (HTTP {status})"
        if detail:
            text += f": {detail}"
        super().__init__(text)


class ConfigurationError(SmartDialogError):
    """Settings are missing or inconsistent."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__("configuration", message)


class RequestInvalid(SmartDialogError):
    """The request failed local validation; no API call was made."""

    exit_code = EXIT_USAGE


class ApiError(SmartDialogError):
    """The service answered with an error status."""


class BadRequest(ApiError):
    """HTTP 400: the service rejected the request."""


class Unauthorized(ApiError):
    """HTTP 401/403: the credentials were refused."""


class NotFound(ApiError):
    """HTTP 404."""


class Conflict(ApiError):
    """HTTP 409: the resource exists already, or a duplicate RequestId cancelled a send."""


class RateLimited(ApiError):
    """HTTP 429 still answered after the retry budget was spent."""


class ServerError(ApiError):
    """HTTP 5xx still answered after the retry budget was spent (or on a request that was not retried)."""


class TransportError(SmartDialogError):
    """The request never reached the service (connection refused, DNS), after retries."""


class OutcomeUnknown(SmartDialogError):
    """The request may or may not have been processed; repeating it is not safe. Reconcile before retrying."""


def error_for_status(operation: str, status: int, detail: str) -> ApiError:
    """The ApiError subclass for an HTTP status."""
    kinds: dict[int, type[ApiError]] = {400: BadRequest, 401: Unauthorized, 403: Unauthorized, 404: NotFound, 409: Conflict, 429: RateLimited}
    kind = kinds.get(status) or (ServerError if status >= 500 else ApiError)
    return kind(operation, "request failed", status, detail)
