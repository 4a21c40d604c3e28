"""Serving an ASGI app on uvicorn from a command: the port is bound first, and announced only once served.

A taken port is one `PortUnavailable` line (exit 1) before anything is printed; `on_started` runs once
uvicorn accepts connections on the bound socket, so a start banner is never printed before it is true.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from smartdialog_sync.errors import PortUnavailable


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), not listening yet (uvicorn listens once the app has started)."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
    except OSError as exc:
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
    except OSError as exc:
        sock.close()
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls `on_started` once its app has started and it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, then the announcement (not when start-up failed)."""
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._on_started()
