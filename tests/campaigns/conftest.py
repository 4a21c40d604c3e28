"""Fixtures of the campaign tests: a CRM file and the sdsync CLI run in-process against the emulator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner, Result

from smartdialog_sync.pipelines.cli import main
from tests.campaigns.helpers import make_crm, sdsync_env
from tests.postgres import postgres_database


@pytest.fixture
def crm(tmp_path: Path) -> str:
    """A SQLite CRM of 250 customers plus an invalid number and a duplicate."""
    return make_crm(tmp_path / "crm.sqlite", 250, [(900, "12", "Bad", "X", "FI"), (901, "0401000007", "Dup", "X", "FI")])


def invoke_main(args: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    """Run the CLI's `main` in-process (its error-to-exit-code mapping included), capturing its output."""
    runner = CliRunner()
    with runner.isolation(input=stdin, env=env) as (out, err, mixed):
        argv, sys.argv = sys.argv, ["sdsync", *args]
        exit_code, exception = 0, None
        try:
            main()
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # a bug: keep it for the test's message
            exit_code, exception = 1, exc
        finally:
            sys.argv = argv
        return Result(runner, out.getvalue(), err.getvalue(), mixed.getvalue(), None, exit_code, exception)


@pytest.fixture
def sdsync(emulator: Any, tmp_path: Path) -> Callable[..., Result]:
    """Run `sdsync ARGS` in-process against the shared emulator with its own data dir."""
    env = sdsync_env(emulator, tmp_path / "data")

    def run(*args: str, stdin: str | None = None, **extra_env: str) -> Result:
        return invoke_main(list(args), {**env, **extra_env}, stdin)

    return run


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database (skips when SDSYNC_TEST_POSTGRES_URL is unset)."""
    yield from postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a ledger lives, as `StateLocation.ledger()` gives it: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield tmp_path / "ledger" / "campaigns.sqlite"
    else:
        yield from postgres_database()
