"""The project's SQL files, shipped inside the package (`smartdialog_sync.sql`, the repository's `sql/`)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def read_sql(name: str) -> str:
    """The text of `sql/<name>`, read from the installed package so it works from any folder."""
    return files("smartdialog_sync.sql").joinpath(name).read_text(encoding="utf-8")
