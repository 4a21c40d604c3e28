"""`sdsync serve` start-up: one-line errors, SIGTERM while registering, a light command module."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading

import pytest

from smartdialog_sync.receiver.secret import SECRET_FILE_NAME
from tests.receiver.harness import REPO_ROOT
from tests.servers import free_port
from tests.support.cli import clean_env, start_sdsync

pytestmark = pytest.mark.compat


def _serve(tmp_path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return start_sdsync(clean_env(**{**(env or {}), "COLUMNS": "250"}), "--data-dir", str(tmp_path / "data"), "serve",
                        *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _one_line_failure(process: subprocess.Popen[str], code: int) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(("failed:", "error:")), err  # nothing announced before it
    return lines[0]


def test_a_taken_port_is_one_line(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_failure(_serve(tmp_path, "--port", str(port)), 1)
    assert line.startswith(f"failed: cannot listen on 127.0.0.1:{port}")


def test_receiving_is_announced_once_it_is_true(tmp_path) -> None:
    port = free_port()
    process = _serve(tmp_path, "--port", str(port))
    try:
        assert process.stderr is not None
        announced = process.stderr.readline()
        assert announced.startswith(f"receiving on http://127.0.0.1:{port}/hooks/***/inbound"), announced
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # already listening when announced
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_a_corrupt_secret_file_is_one_line(tmp_path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / SECRET_FILE_NAME).write_bytes(b"\xff\xfe not a secret")
    line = _one_line_failure(_serve(tmp_path, "--port", str(free_port())), 2)
    assert "delete it to make a new one" in line


def test_an_unopenable_journal_is_one_line(tmp_path) -> None:
    (tmp_path / "dir.sqlite").mkdir()
    line = _one_line_failure(_serve(tmp_path, "--port", str(free_port()), "--journal", str(tmp_path / "dir.sqlite")), 1)
    assert line.startswith("failed: cannot open the journal")


def test_a_refused_registration_is_one_line(emulator, tmp_path) -> None:
    process = _serve(tmp_path, "--port", str(free_port()), "--public-url", "http://127.0.0.1:1", "--customer", "no-such-customer",
                     "--service", "x", env={"SMARTDIALOG__BASE_URL": emulator.base_url})
    assert _one_line_failure(process, 1).startswith("failed: webhook registration failed")


def test_sigterm_while_registration_hangs_stops_the_receiver(tmp_path) -> None:
    """SmartDialog accepts the connection and never answers: SIGTERM must not wait for the client's timeouts."""
    hanging = socket.create_server(("127.0.0.1", 0))
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        conn, _ = hanging.accept()
        held.append(conn)
        accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    base_url = f"http://127.0.0.1:{hanging.getsockname()[1]}/api-integrations/v1"
    process = _serve(tmp_path, "--port", str(free_port()), "--public-url", "http://127.0.0.1:1", "--customer", "c",
                     env={"SMARTDIALOG__BASE_URL": base_url, "SMARTDIALOG__ACCESS_TOKEN": "t"})
    try:
        assert accepted.wait(60), "the receiver called SmartDialog"
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=20)  # the API client alone would wait 30 s per attempt
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM did not stop the receiver while it was registering")
        assert process.returncode == 1 and "stopped by SIGTERM during webhook registration" in err
        assert "Traceback" not in err
    finally:
        process.kill()
        process.wait()
        hanging.close()
        for conn in held:
            conn.close()


def test_serve_and_journal_commands_import_light() -> None:
    code = (
        "import sys\n"
        "import smartdialog_sync.pipelines.commands.serve, smartdialog_sync.pipelines.commands.journal\n"
        "heavy = ('dlt', 'starlette', 'uvicorn', 'httpx', 'sqlalchemy', 'pyarrow', 'pydantic', 'prometheus_client',\n"
        "         'smartdialog_sync.api', 'smartdialog_sync.receiver', 'smartdialog_sync.journal')\n"
        "print(sorted(name for name in sys.modules if any(name == h or name.startswith(h + '.') for h in heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
