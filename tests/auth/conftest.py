"""Fixtures for the sign-in tests: `sdsync auth login` as a real subprocess against the emulator, and a
headless Chromium (tests/browser.py). `cli_env` is overridden: `sdsync_process` runs with `oauth_env`."""

from __future__ import annotations

import queue
import subprocess
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.browser import chromium  # noqa: F401
from tests.conftest import EmulatorHandle
from tests.support.cli import clean_env, start_sdsync

PUBLIC_CLIENT = "sandbox-public-client"


def oauth_env(emulator: EmulatorHandle, home: Path, **settings: str) -> dict[str, str]:
    """An environment pointing sdsync at the emulator's API and OAuth endpoints, with no token configured."""
    env = clean_env(**{
        "SMARTDIALOG__BASE_URL": emulator.base_url,
        "SMARTDIALOG__TOKEN_URL": emulator.root_url + "/oauth2/v2.0/token",
        "SMARTDIALOG__AUTHORIZE_URL": emulator.root_url + "/oauth2/v2.0/authorize",
        "SMARTDIALOG__CLIENT_ID": PUBLIC_CLIENT,
        "SMARTDIALOG__DATA_DIR": str(home / "data"),
    })
    env.update({f"SMARTDIALOG__{key.upper()}": value for key, value in settings.items()})
    return env


class Login:
    """A running `sdsync auth login --no-browser`; `url` is the authorize URL it printed on stderr."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.url = ""
        self._lines: queue.Queue[str] = queue.Queue()
        self._stderr: list[str] = []
        assert process.stderr is not None
        stream = process.stderr
        self._reader = threading.Thread(target=lambda: [self._lines.put(line) for line in iter(stream.readline, "")],
                                        daemon=True)
        self._reader.start()

    def wait_for_url(self) -> str:
        """Read stderr until the printed authorize URL."""
        while not self.url:
            line = self._lines.get(timeout=60)
            self._stderr.append(line)
            if line.startswith("http"):
                self.url = line.strip()
        return self.url

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Wait for the exit: (exit code, stdout, stderr)."""
        assert self.process.stdout is not None
        out = self.process.stdout.read()
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        while not self._lines.empty():
            self._stderr.append(self._lines.get())
        return self.process.returncode, out, "".join(self._stderr)


@pytest.fixture
def cli_env(emulator: EmulatorHandle, tmp_path: Path) -> dict[str, str]:
    """`sdsync_process` signs in here: the emulator's API and OAuth endpoints, no token configured."""
    return oauth_env(emulator, tmp_path)


@pytest.fixture
def start_login(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Login]]:
    """Start `sdsync auth login --no-browser ARGS` and wait until it printed the authorize URL."""
    logins: list[Login] = []

    def start(*args: str, env: dict[str, str] | None = None, expect_url: bool = True) -> Login:
        process = start_sdsync(env or cli_env, "auth", "login", "--no-browser", *args, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        login = Login(process)
        logins.append(login)
        if expect_url:
            login.wait_for_url()
        return login

    yield start
    for login in logins:
        if login.process.poll() is None:
            login.process.kill()
            login.process.wait()
