"""A little HTTP server on 127.0.0.1 recording the requests made to it: the emulator's callbacks (webhooks and
DLRs), the alerts' webhook posts."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One request the server got."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


class CallbackServer:
    """Records every request; the first `fail_first` requests are answered 503.

    With `hold=True` no request is answered until `release()`: `arrived` counts the requests waiting.
    `url` ends in `path` (any path is answered alike).
    """

    def __init__(self, fail_first: int = 0, hold: bool = False, path: str = "") -> None:
        self.fail_first = fail_first
        self.received: list[Received] = []
        self.arrived = 0
        self._released = threading.Event()
        if not hold:
            self._released.set()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with owner._lock:
                    owner.arrived += 1
                owner._released.wait(timeout=60)
                with owner._lock:
                    failing = owner.fail_first > 0
                    if failing:
                        owner.fail_first -= 1
                    else:
                        owner.received.append(Received(self.command, parts.path, parse_qs(parts.query),
                                                       json.loads(raw) if raw else None))
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "CallbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        """Answer the held requests and every later one."""
        self._released.set()

    def wait_arrived(self, count: int, timeout: float = 10.0) -> None:
        """Wait until at least `count` requests arrived (answered or held)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.arrived >= count:
                    return
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests to arrive, got {self.arrived}")

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` requests were recorded; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} callbacks, got {len(self.received)}")
