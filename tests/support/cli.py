"""The one way tests run `sdsync`: in this process (`invoke_sdsync`, Typer/Click's runner around `main`, so
errors end as their exit code and one line), or as a real process (`run_sdsync`, `start_sdsync`) where a
process is what the test needs (kill -9, two machines at once, a umask, the entry point itself).

Both start from `clean_env`: this process's environment without the developer's settings of sdsync (the
OWN_SETTINGS sections); `emulator_env` adds the settings pointing at an emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from click.testing import CliRunner, Result
from smartdialog_sync.pipelines.cli import main

from tests.support import REPO_ROOT

OWN_SETTINGS = ("SMARTDIALOG__", "SOURCES__", "DESTINATION__", "CONTACTS__", "CAMPAIGNS__", "ALERTS__")  # dlt sections
ENTRY_POINT = "from smartdialog_sync.pipelines.cli import main; main()"  # what the `sdsync` script runs


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without our settings, 200 columns wide, with `settings` on top."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_SETTINGS)}
    env.update({"COLUMNS": "200", "PYTHONPATH": str(REPO_ROOT)})
    env.update(settings)
    return env


def emulator_settings(emulator: Any, data_dir: Path, rate_limit: str = "100000/60") -> dict[str, str]:
    """The SMARTDIALOG__ settings pointing sdsync at `emulator`, with its own data dir and client rate limit."""
    return {
        "SMARTDIALOG__BASE_URL": emulator.base_url,
        "SMARTDIALOG__ACCESS_TOKEN": emulator.token,
        "SMARTDIALOG__RATE_LIMIT": rate_limit,
        "SMARTDIALOG__DATA_DIR": str(data_dir),
    }


def emulator_env(emulator: Any, data_dir: Path, rate_limit: str = "100000/60", **settings: str) -> dict[str, str]:
    """`clean_env` with the settings pointing at `emulator` (and `settings` on top)."""
    return clean_env(**emulator_settings(emulator, data_dir, rate_limit), **settings)


def sdsync_command(*args: str) -> list[str]:
    """The sdsync command line (the console script's entry point, through this test run's interpreter)."""
    return [sys.executable, "-c", ENTRY_POINT, *args]


def run_sdsync(env: dict[str, str], *args: str, cwd: Path = REPO_ROOT, stdin: str | None = None,
               timeout: float = 120, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run sdsync as a process to its end and return its result (stdout, stderr, returncode)."""
    return subprocess.run(
        sdsync_command(*args), cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def start_sdsync(env: dict[str, str], *args: str, cwd: Path = REPO_ROOT, stdout: int | IO[Any] = subprocess.DEVNULL,
                 stderr: int | IO[Any] = subprocess.DEVNULL, text: bool = True) -> subprocess.Popen[Any]:
    """Start sdsync as a process (to kill it, or to run another beside it); stdin is closed."""
    return subprocess.Popen(sdsync_command(*args), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, text=text)


def invoke_sdsync(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    """Run sdsync's `main` in this process (its error-to-exit-code mapping included), capturing its output.

    `env` replaces our settings of this process for the run (it is what a process would get)."""
    runner = CliRunner()
    unset: dict[str, str | None] = {key: None for key in os.environ if key.startswith(OWN_SETTINGS)}
    with runner.isolation(input=stdin, env={**unset, **env}) as (out, err, mixed):
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


class Sdsync:
    """`sdsync ROOT_OPTIONS ...` as a process of one test: a working folder, root options and
    `clean_env(**env)`, 250 columns wide unless `env` says otherwise."""

    def __init__(self, cwd: Path, *root: str, env: dict[str, str] | None = None) -> None:
        self.cwd = cwd
        self.root = list(root)
        self.env = clean_env(**{"COLUMNS": "250", **(env or {})})

    def run(self, *args: str, umask: int | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `sdsync ROOT_OPTIONS ARGS` as a process to its end and return the result."""
        return run_sdsync(self.env, *self.root, *args, cwd=self.cwd, umask=umask, timeout=timeout)

    def status(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`sdsync ROOT_OPTIONS status ARGS`."""
        return self.run("status", *args)

    def status_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        """`status --json ARGS`: (exit code, report)."""
        done = self.status("--json", *args)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)
