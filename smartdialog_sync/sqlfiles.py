"""The project's SQL files, shipped inside the package (`smartdialog_sync.sql`, the repository's `sql/`)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def read_sql(name: str) -> str:
    """The text of `sql/<name>`, read from the installed package so it works from any folder."""
    return files("smartdialog_sync.sql").joinpath(name).read_text(encoding="utf-8")


@cache
def read_named_sql(name: str) -> dict[str, str]:
    """The statements of `sql/<name>` by name: each section starts with a `-- name: NAME` line."""
    statements: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in read_sql(name).splitlines():
        if line.startswith("-- name:"):
            current = statements.setdefault(line.split(":", 1)[1].strip(), [])
        elif current is not None and not line.lstrip().startswith("--"):
            current.append(line)
    return {key: "\n".join(lines).strip() for key, lines in statements.items()}
