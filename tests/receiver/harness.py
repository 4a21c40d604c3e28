"""Test helpers for the receiver: a real `sdsync serve` process, and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from smartdialog_sync.receiver.secret import dlr_path, inbound_path, receiver_secret
from smartdialog_sync.state.location import StateLocation
from tests.servers import free_port, wait_for_port
from tests.postgres import postgres_database

REPO_ROOT = Path(__file__).resolve().parents[2]


LIBPQ_VARIABLES = ("PGPASSWORD", "PGPASSFILE", "HOME")  # where libpq finds a password the URL leaves out


@contextmanager
def _libpq_environment(env: dict[str, str]) -> Iterator[None]:
    """This process's environment with the receiver's libpq variables, for the duration of the block."""
    saved = {name: os.environ.get(name) for name in LIBPQ_VARIABLES}
    os.environ.update({name: env[name] for name in LIBPQ_VARIABLES if name in env})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ReceiverProcess:
    """`sdsync serve` as a subprocess on 127.0.0.1, that can be killed (SIGKILL) and started again."""

    def __init__(self, data_dir: Path, journal_url: str | None = None, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.journal_url = journal_url
        self.extra_args = extra_args or []
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()
        self.state = StateLocation(self.data_dir, self.env.get("SMARTDIALOG__STATE_URL") or None)
        with _libpq_environment(self.env):  # a shared journal is read here as the receiver will read it
            self.secret = receiver_secret(self.data_dir, self.state.journal(journal_url))  # what `serve` will use

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbound_url(self) -> str:
        """The NewMessage webhook URL (with the secret)."""
        return self.root_url + inbound_path(self.secret)

    @property
    def dlr_url(self) -> str:
        """The delivery report URL (with the secret)."""
        return self.root_url + dlr_path(self.secret)

    def command(self) -> list[str]:
        """The command line of the receiver."""
        args = [sys.executable, "-m", "smartdialog_sync.pipelines.cli", "--data-dir", str(self.data_dir), "serve", "--port", str(self.port)]
        if self.journal_url:
            args += ["--journal", self.journal_url]
        return args + self.extra_args

    def start(self) -> "ReceiverProcess":
        """Start and wait until it listens."""
        self.process = subprocess.Popen(self.command(), cwd=REPO_ROOT, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", self.port, timeout=30, process=self.process)
        except (RuntimeError, TimeoutError) as exc:
            self.kill()
            raise RuntimeError(f"{exc}: {self.output()}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int:
        """A clean shutdown (SIGINT, as Ctrl-C); returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def output(self) -> str:
        """Everything the process printed."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def close(self) -> None:
        """Kill if running and release the log file."""
        self.kill()
        self._log.close()


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Any]:
    """Make ReceiverProcess objects (not started) with the test's data dir; all are killed at teardown."""
    made: list[ReceiverProcess] = []

    def make(journal_url: str | None = None, data_dir: Path | None = None, **kwargs: Any) -> ReceiverProcess:
        receiver = ReceiverProcess(data_dir or tmp_path / "data", journal_url, **kwargs)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture(scope="module")
def shared_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProcess]:
    """One started receiver for a whole test module (a body stalled for 1 s is timed out)."""
    receiver = ReceiverProcess(tmp_path_factory.mktemp("data"), extra_args=["--body-timeout", "1"]).start()
    yield receiver
    receiver.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database (skips when SDSYNC_TEST_POSTGRES_URL is unset)."""
    yield from postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A journal URL: a SQLite file, then a fresh PostgreSQL database (when available)."""
    if request.param == "sqlite":
        yield str(tmp_path / "journal.sqlite")
    else:
        yield from postgres_database()
