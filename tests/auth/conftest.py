"""Fixtures for the sign-in tests: `sdsync auth login` as a real subprocess against the emulator, and a
headless Chromium driven through chromedriver (Debian's chromium and chromium-driver packages)."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import EmulatorHandle

PUBLIC_CLIENT = "sandbox-public-client"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
CLI = [sys.executable, "-m", "smartdialog_sync.pipelines.cli"]


def sdsync_env(emulator: EmulatorHandle, home: Path, **settings: str) -> dict[str, str]:
    """An environment pointing sdsync at the emulator's API and OAuth endpoints, with no token configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTDIALOG__")}
    env.update({
        "SMARTDIALOG__BASE_URL": emulator.base_url,
        "SMARTDIALOG__TOKEN_URL": emulator.root_url + "/oauth2/v2.0/token",
        "SMARTDIALOG__AUTHORIZE_URL": emulator.root_url + "/oauth2/v2.0/authorize",
        "SMARTDIALOG__CLIENT_ID": PUBLIC_CLIENT,
        "SMARTDIALOG__DATA_DIR": str(home / "data"),
        "COLUMNS": "200",
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
def sdsync(emulator: EmulatorHandle, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `sdsync ARGS` to the end in a clean directory with the emulator's settings."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(CLI + list(args), cwd=tmp_path, env=env or sdsync_env(emulator, tmp_path),
                              capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def start_login(emulator: EmulatorHandle, tmp_path: Path) -> Iterator[Callable[..., Login]]:
    """Start `sdsync auth login --no-browser ARGS` and wait until it printed the authorize URL."""
    logins: list[Login] = []

    def start(*args: str, env: dict[str, str] | None = None, expect_url: bool = True) -> Login:
        process = subprocess.Popen(CLI + ["auth", "login", "--no-browser", *args], cwd=tmp_path,
                                   env=env or sdsync_env(emulator, tmp_path), text=True,
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


def _missing_browser() -> str | None:
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (apt-get install -y chromium chromium-driver, see scripts/chromium.sh)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium (selenium WebDriver) with a fresh profile. Missing: a failure on CI, a skip locally."""
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser sign-in test needs Chromium on CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver") or ""), options=options)
    try:
        yield driver
    finally:
        driver.quit()
