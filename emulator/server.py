"""Running the emulator under uvicorn, with the hook that drops a client's connection."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import Scope


def connection_dropper(server: uvicorn.Server) -> Any:
    """A coroutine function closing the connection a request arrived on, without answering."""

    async def drop(scope: Scope) -> None:
        client = tuple(scope["client"]) if scope.get("client") else None
        for protocol in list(server.server_state.connections):
            if getattr(protocol, "client", None) == client:
                protocol.transport.close()
        for _ in range(5):  # let uvicorn see the connection loss before the app returns
            await asyncio.sleep(0)

    return drop


def serve(app: Starlette, host: str, port: int, log_level: str = "warning") -> None:
    """Serve `app` until interrupted."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on"))
    app.state.drop_connection = connection_dropper(server)
    server.run()
