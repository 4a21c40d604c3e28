"""Fixtures of the status/doctor tests: the receiver harness, and `sdsync` run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

from tests.conftest import REPO_ROOT
from tests.receiver.harness import postgres_url, receiver_factory  # noqa: F401


class Sdsync:
    """`python -m smartdialog_sync.pipelines.cli ROOT_ARGS ...` in a working folder, with a clean environment."""

    def __init__(self, cwd: Path, *root: str, env: Optional[dict[str, str]] = None) -> None:
        self.cwd = cwd
        self.root = list(root)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("SMARTDIALOG__", "CAMPAIGNS__"))}
        self.env.update({"COLUMNS": "250", "PYTHONPATH": str(REPO_ROOT), **(env or {})})

    def run(self, *args: str, umask: Optional[int] = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `sdsync ROOT_ARGS ARGS` to the end and return the result (stdout, stderr, returncode)."""
        return subprocess.run(
            [sys.executable, "-m", "smartdialog_sync.pipelines.cli", *self.root, *args], cwd=self.cwd, env=self.env,
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            preexec_fn=None if umask is None else (lambda: os.umask(umask)),
        )

    def status(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`sdsync ROOT_ARGS status ARGS`."""
        return self.run("status", *args)

    def status_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        """`status --json ARGS`: (exit code, report)."""
        done = self.status("--json", *args)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)
