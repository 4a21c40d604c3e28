"""Read `sdsync report` output back: rows of the rich tables on stdout, rows of the HTML page's tables."""

from __future__ import annotations

import os
import subprocess
from html.parser import HTMLParser

from tests.support.cli import run_sdsync


def run_report(*args: str, env: dict[str, str] | None = None, columns: int = 250) -> subprocess.CompletedProcess[str]:
    """`sdsync report ARGS` as a subprocess on a terminal `columns` wide (default wide: table rows never wrap)."""
    if env is None:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SMARTDIALOG__", "CAMPAIGNS__"))}
    return run_sdsync({**env, "COLUMNS": str(columns)}, "report", *args)


def console_rows(stdout: str, title: str) -> list[list[str]]:
    """The body rows of the rich table titled `title` (cells stripped)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    rows, in_body = [], False
    for line in lines[start + 1:]:
        if line.strip() == "no data yet" and not in_body:
            break
        if line.startswith("┡"):
            in_body = True
        elif line.startswith("└"):
            break
        elif in_body and line.startswith("│"):
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


class _SectionTables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._section: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id")
            self.tables[self._section or ""] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._section or ""].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_rows(page: str) -> dict[str, list[list[str]]]:
    """Section id → the body rows of its table (an empty list for a section without rows)."""
    parser = _SectionTables()
    parser.feed(page)
    return parser.tables
