"""Fixtures of the declared-sync tests: a project folder whose .dlt/ declares syncs, seen by this process."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PHONES = ["+358401110001", "+358401110002", "+358401110003"]


def reload_dlt_config(folder: Path) -> None:
    """Make dlt read `.dlt/` of `folder` again (its providers are made once per process)."""
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    Container()[PluggableRunContext].reload(str(folder))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """`project(config, secrets=None)`: write .dlt/config.toml (and secrets.toml) in tmp_path, work there."""
    home = Path.cwd()
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dlt").mkdir()

    def write(config: str, secrets: str | None = None) -> Path:
        (tmp_path / ".dlt" / "config.toml").write_text(config)
        if secrets is not None:
            (tmp_path / ".dlt" / "secrets.toml").write_text(secrets)
        reload_dlt_config(tmp_path)
        return tmp_path

    yield write
    os.chdir(home)
    reload_dlt_config(home)


@pytest.fixture
def crm(tmp_path: Path) -> str:
    """A SQLite CRM with a table `people` (phone, first_name) of three contacts; its URL."""
    path = tmp_path / "crm.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE people (phone TEXT, first_name TEXT)")
    connection.executemany("INSERT INTO people VALUES (?, ?)", [(phone, f"Name{i}") for i, phone in enumerate(PHONES)])
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"
