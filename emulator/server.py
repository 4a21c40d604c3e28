"""Running the emulator under uvicorn, with the hook that drops a client's connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import Scope

from smartdialog_sync.serving import AnnouncingServer, bind_socket


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


def serve(app: Starlette, host: str, port: int, log_level: str = "warning",
          on_started: Callable[[], None] = lambda: None) -> None:
    """Serve `app` until interrupted; `on_started` runs once it accepts connections. A taken port: PortUnavailable."""
    sock = bind_socket(host, port)
    try:
        server = AnnouncingServer(uvicorn.Config(app, log_level=log_level, log_config=None, lifespan="on"), on_started)
        app.state.drop_connection = connection_dropper(server)
        server.run(sockets=[sock])
    finally:
        sock.close()
