"""The emulator's Starlette app factory."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from smartdialog_sync.constants import OAUTH_BASE_URL
from smartdialog_sync.emulator import admin
from smartdialog_sync.emulator.auth import token_endpoint
from smartdialog_sync.emulator.authorize import authorize_endpoint
from smartdialog_sync.emulator.config import EmulatorSettings
from smartdialog_sync.emulator.faults import FaultSettings
from smartdialog_sync.emulator.routes import catalog, contacts, messages, webhooks, whatsapp
from smartdialog_sync.emulator.runtime import Runtime
from smartdialog_sync.emulator.seed import load_seed

BASE_PATH = "/api-integrations/v1"
# The OAuth endpoints answer at /oauth2/v2.0/... and at the definition's own B2C paths, so that replacing
# the host of the production authorize and token URLs with the emulator's root gives working URLs.
OAUTH_PREFIXES = ("", urlsplit(OAUTH_BASE_URL).path.removesuffix("/oauth2/v2.0"))
API_ROUTES = catalog.routes + messages.routes + whatsapp.routes + contacts.routes + webhooks.routes


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail, "field": None}, status_code=exc.status_code, headers=exc.headers)


def create_app(seed_path: Path | None = None, state_path: Path | None = None,
               settings: EmulatorSettings | None = None, faults: FaultSettings | None = None) -> Starlette:
    """Build the emulator app from a seed file (default seed when None) and optional state file."""
    runtime = Runtime(load_seed(seed_path), settings or EmulatorSettings(), faults or FaultSettings(), state_path)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.callbacks.start()
        yield
        await runtime.callbacks.stop()
        runtime.commit()

    app = Starlette(
        routes=[
            Mount(BASE_PATH, routes=API_ROUTES),
            *[route for prefix in OAUTH_PREFIXES for route in (
                Route(prefix + "/oauth2/v2.0/token", token_endpoint, methods=["POST"]),
                Route(prefix + "/oauth2/v2.0/authorize", authorize_endpoint, methods=["GET", "POST"]),
            )],
            Mount("/_emulator", routes=admin.routes),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
