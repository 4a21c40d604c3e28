"""Shared fixtures: the SmartDialog emulator as a real server process on 127.0.0.1.

- `emulator`: one session-wide server with a generous rate limit, reset before each test.
- `start_emulator(**options)`: a server of its own; options map to CLI flags
  (rate_limit="10/2" -> --rate-limit 10/2, seed=path, state=path, error_rate=0.5, error_statuses=[500],
  drop_after_processing_rate=0.1, fault_seed=1, dlr_delay=0, duplicate_rate=0.5, ...).

`EmulatorHandle`: root_url, base_url, token, admin (httpx.Client on /_emulator); reset(), set_faults(**kw),
configure(**kw), stats(), contacts(customer, group_service), messages(address=None),
inbound(service, sender, content, count=1, recipient=None), webhooks(), callbacks(), stop()/start()/restart(),
output() (the server's log). See emulator/README.md for the admin endpoints behind them.

Running the CLI (helpers in tests/support/cli.py):
- `cli_env`: the environment the two runners below use: the shared emulator, data dir tmp_path/data, none of
  the developer's settings (a folder's conftest may override it, as tests/auth does).
- `sdsync(*args, stdin=None, **settings)`: the CLI in this process (click's Result: exit_code, stdout, stderr).
- `sdsync_process(*args, env=None, stdin=None)`: the CLI as a real process in tmp_path (CompletedProcess).
- `on_emulator`: this process's own settings (and so those of the processes it starts) pointed at the
  shared emulator and tmp_path/data, for library jobs run in-process.

Skips for a missing test service (PostgreSQL, the official API definition) fail under CI: see tests/service_skips.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from click.testing import Result

from tests.servers import free_port, wait_for_port
from tests.service_skips import pytest_make_collect_report, pytest_runtest_makereport, pytest_terminal_summary
from tests.support import REPO_ROOT
from tests.support.cli import emulator_env, emulator_settings, invoke_sdsync, run_sdsync

__all__ = ["pytest_make_collect_report", "pytest_runtest_makereport", "pytest_terminal_summary"]

SANDBOX_TOKEN = "sandbox-token"


class EmulatorHandle:
    """A running emulator process and an admin client for it."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.root_url = f"http://{self.host}:{self.port}"
        self.base_url = self.root_url + "/api-integrations/v1"
        self.token = SANDBOX_TOKEN
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()
        self.admin = httpx.Client(base_url=self.root_url + "/_emulator", timeout=10)

    def command(self) -> list[str]:
        """The command line starting this emulator."""
        args = [sys.executable, "-m", "smartdialog_sync.emulator", "--host", self.host, "--port", str(self.port)]
        for name, value in self.options.items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            args += ["--" + name.replace("_", "-"), str(value)]
        return args

    def start(self) -> "EmulatorHandle":
        """Start the process and wait until it answers."""
        self.process = subprocess.Popen(self.command(), cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})  # output() is current
        try:
            wait_for_port(self.host, self.port, process=self.process)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}: {self.output()}") from None
        return self

    def output(self) -> str:
        """What the process wrote to stdout and stderr so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def close(self) -> str:
        """Stop the process, close the admin client and return the whole log."""
        self.stop()
        output = self.output()
        self.admin.close()
        self._log.close()
        return output

    def restart(self) -> "EmulatorHandle":
        """Stop and start again on the same port and options (state survives with a state file)."""
        self.stop()
        return self.start()

    def api(self, token: str | None = None) -> httpx.Client:
        """A plain httpx client on the API base URL with the bearer token (for emulator tests only)."""
        return httpx.Client(base_url=self.base_url, timeout=10,
                            headers={"Authorization": f"Bearer {token or self.token}"})

    def _ok(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Back to the seed and the startup settings."""
        self._ok(self.admin.post("/reset", json={}))

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault settings (error_rate, error_statuses, latency_ms, drop_after_processing_rate, seed)."""
        return self._ok(self.admin.post("/faults", json=faults))

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings (rate_limit="5/2", dlr_delivered_ratio, token_expires_in, duplicate_rate, ...)."""
        return self._ok(self.admin.post("/config", json=settings))

    def stats(self) -> dict[str, Any]:
        """Call, 429, fault and callback counters."""
        return self._ok(self.admin.get("/stats"))

    def calls(self, operation: str) -> int:
        """How many calls of `operation` (e.g. SendMessage) the emulator has answered since its reset."""
        return self.stats()["calls_by_operation"].get(operation, 0)

    def contacts(self, customer: str = "demo-customer", group_service: str = "crm-group") -> list[dict[str, Any]]:
        """The stored contacts of a group service."""
        return self._ok(self.admin.get("/contacts", params={"customer": customer, "group_service": group_service}))

    def messages(self, address: str | None = None) -> list[dict[str, Any]]:
        """Sent messages, one row per recipient (optionally only those to `address`)."""
        return self._ok(self.admin.get("/messages", params={"address": address} if address else None))

    def inbound(self, service: str, sender: str, content: str, count: int = 1,
                recipient: str | None = None) -> dict[str, Any]:
        """Simulate `count` messages received on `service`; webhooks of the service are called."""
        body = {"service": service, "sender": sender, "content": content, "count": count, "recipient": recipient}
        return self._ok(self.admin.post("/inbound", json=body))

    def webhooks(self) -> list[dict[str, Any]]:
        """Registered NewMessage webhooks."""
        return self._ok(self.admin.get("/webhooks"))

    def callbacks(self) -> list[dict[str, Any]]:
        """The log of callback attempts."""
        return self._ok(self.admin.get("/callbacks"))


def assert_no_exception_logged(name: str, output: str) -> None:
    """Fail when an emulator's log holds a traceback: a real server error, never an injected fault."""
    assert "Traceback" not in output, f"{name} logged an exception:\n{output}"


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., EmulatorHandle]]:
    """Start emulators with their own options; at teardown all are stopped and their logs checked."""
    handles: list[EmulatorHandle] = []

    def start(**options: Any) -> EmulatorHandle:
        handle = EmulatorHandle(options)
        handles.append(handle)
        return handle.start()

    yield start
    outputs = [handle.close() for handle in handles]
    for handle, output in zip(handles, outputs):
        assert_no_exception_logged(f"the emulator started with {handle.options}", output)


@pytest.fixture(scope="session")
def _session_emulator() -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle({"rate_limit": "100000/60"}).start()
    yield handle
    assert_no_exception_logged("the shared emulator", handle.close())


@pytest.fixture
def emulator(_session_emulator: EmulatorHandle) -> EmulatorHandle:
    """The shared emulator, reset to its seed before the test."""
    _session_emulator.reset()
    return _session_emulator



@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own per-user data and cache dirs (the default data dir and the limiter's window),
    inherited by the processes it starts: no test reads another's state or the real home's."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))


@pytest.fixture
def cli_env(emulator: EmulatorHandle, tmp_path: Path) -> dict[str, str]:
    """The environment of `sdsync` and `sdsync_process`: the shared emulator, data dir tmp_path/data."""
    return emulator_env(emulator, tmp_path / "data")


@pytest.fixture
def sdsync(cli_env: dict[str, str]) -> Callable[..., Result]:
    """`sdsync(*args, stdin=None, **settings)`: run the CLI in this process with `cli_env` (plus `settings`)."""

    def run(*args: str, stdin: str | None = None, **settings: str) -> Result:
        return invoke_sdsync({**cli_env, **settings}, *args, stdin=stdin)

    return run


@pytest.fixture
def sdsync_process(cli_env: dict[str, str], tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`sdsync_process(*args, env=None, stdin=None)`: run the CLI as a real process in tmp_path to its end, with
    `cli_env` or `env`."""

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_sdsync(cli_env if env is None else env, *args, cwd=tmp_path, stdin=stdin)

    return run


@pytest.fixture
def on_emulator(emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """Point the settings of this process (and of the processes it starts) at the emulator, data dir
    tmp_path/data and a client rate limit of 1000/1."""
    for name, value in emulator_settings(emulator, tmp_path / "data", rate_limit="1000/1").items():
        monkeypatch.setenv(name, value)
    return emulator
