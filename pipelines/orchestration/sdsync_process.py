"""Run an `sdsync` command as a child process of the current Python, for orchestrators.

Campaign sends exist only as a CLI command (its planning, confirmation and exit codes live there), so
orchestrators call it this way; the pull and the contact sync are called in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence


class SdsyncFailed(RuntimeError):
    """An `sdsync` command exited with a non-zero code (1 failure, 2 bad usage or configuration)."""

    def __init__(self, command: str, exit_code: int, output_tail: str) -> None:
        super().__init__(f"sdsync {command} exited with {exit_code}: {output_tail}")
        self.exit_code = exit_code


def resolve_env_reference(value: str) -> str:
    """`env:NAME` → the value of environment variable NAME (so secrets stay out of run config); else `value`."""
    if not value.startswith("env:"):
        return value
    name = value[4:]
    if name not in os.environ:
        raise SdsyncFailed("(configuration)", 2, f"environment variable {name} is not set")
    return os.environ[name]


def run_sdsync(command: Sequence[str], options: Sequence[str], log: Callable[[str], None], tail_lines: int = 20) -> None:
    """Run `python -m pipelines.cli COMMAND OPTIONS`, passing each output line to `log`; raise SdsyncFailed on failure."""
    process = subprocess.Popen(
        [sys.executable, "-m", "smartdialog_sync.pipelines.cli", *command, *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ, "COLUMNS": os.environ.get("COLUMNS", "160")},
    )
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        if line:
            log(line)
            tail = (tail + [line])[-tail_lines:]
    exit_code = process.wait()
    if exit_code != 0:
        raise SdsyncFailed(" ".join(command), exit_code, "\n".join(tail))
