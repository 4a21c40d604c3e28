"""Starting the emulator: a taken port is one line and exit 1, and the banner comes once it is listening."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.servers import free_port

COMMANDS = {
    "sdsync emulator": [sys.executable, "-m", "smartdialog_sync.pipelines.cli", "emulator"],
    "python -m smartdialog_sync.emulator": [sys.executable, "-m", "smartdialog_sync.emulator"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_taken_port_is_one_line_and_exit_1_with_no_banner(command: list[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run([*command, "--port", str(port)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done
    assert done.stdout == ""
    assert done.stderr == f"failed: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_the_banner_comes_once_it_listens() -> None:
    port = free_port()
    process = subprocess.Popen([*COMMANDS["sdsync emulator"], "--port", str(port)], cwd=REPO_ROOT,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        assert banner == f"SmartDialog emulator on http://127.0.0.1:{port}/api-integrations/v1 (token: sandbox-token)\n"
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # already listening when announced
    finally:
        process.terminate()
        process.communicate(timeout=30)
