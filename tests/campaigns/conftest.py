"""Fixtures of the campaign tests: a CRM file and the sdsync CLI run in-process against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from smartdialog_sync.pipelines.cli import app
from tests.campaigns.helpers import make_crm, sdsync_env

CliResult = Any


@pytest.fixture
def crm(tmp_path: Path) -> str:
    """A SQLite CRM of 250 customers plus an invalid number and a duplicate."""
    return make_crm(tmp_path / "crm.sqlite", 250, [(900, "12", "Bad", "X", "FI"), (901, "0401000007", "Dup", "X", "FI")])


@pytest.fixture
def sdsync(emulator: Any, tmp_path: Path) -> Callable[..., CliResult]:
    """Run `sdsync ARGS` in-process against the shared emulator with its own data dir."""
    env = sdsync_env(emulator, tmp_path / "data")

    def run(*args: str, stdin: str | None = None, **extra_env: str) -> CliResult:
        return CliRunner().invoke(app, list(args), env={**env, **extra_env}, input=stdin)

    return run
