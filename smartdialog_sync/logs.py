"""Log records on stderr: rich on a terminal; one line per record (plain text or JSON) for files, pipes, journald.

A log written to a file or read by journald must keep each record on one line, unwrapped and unpadded,
whatever the width a terminal would have: the plain-text and JSON formats escape line breaks (in the
message and in a traceback) instead of wrapping.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from rich.console import Console

LOG_FORMATS = ("text", "json")


def _utc(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OneLineFormatter(logging.Formatter):
    """`TIME LEVEL logger: message`, line breaks escaped as `\\n`."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_utc(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            text += " " + self.formatException(record.exc_info)
        return text.replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and exception when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": _utc(record), "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(verbose: bool = False, log_format: Optional[str] = None, console: Optional[Console] = None) -> None:
    """Route every logger (uvicorn's included) to stderr: `log_format` text or json, else rich on a terminal.

    `console` is the stderr console the command draws on (progress bars), shared with the rich handler.
    """
    if log_format is None and sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=console or Console(stderr=True), show_path=False,
                                               show_time=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter() if log_format == "json" else OneLineFormatter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler], force=True)
