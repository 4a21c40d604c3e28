"""The emulator's error answers: a JSON body `{"error": "...", "field": "..."}` plus optional extras."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An error answer; raise it from a handler to return `status` with a JSON error body."""

    def __init__(self, status: int, error: str, field: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        body: dict[str, Any] = {"error": self.error, "field": self.field, **self.extra}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def bad_request(error: str, field: str | None = None) -> ApiError:
    """A 400 answer for invalid input."""
    return ApiError(400, error, field)


def not_found(error: str, field: str | None = None) -> ApiError:
    """A 404 answer for an unknown resource."""
    return ApiError(404, error, field)
