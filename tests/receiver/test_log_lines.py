"""Log records written to a file or a pipe: one line each, plain text or JSON, never wrapped or padded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from smartdialog_sync.receiver.secret import inbound_path, load_or_create_secret
from tests.receiver.harness import REPO_ROOT
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.compat
REASON = "timestamp must be an ISO 8601 date-time"
BOX_DRAWING = re.compile("[\u2500-\u257f]")


def _serve_and_refuse(tmp_path: Path, *root: str) -> list[str]:
    """Run `sdsync ROOT serve` with stderr to a file, send two refused webhooks, stop it; its stderr lines."""
    data_dir, port = tmp_path / "data", free_port()
    inbound = f"http://127.0.0.1:{port}" + inbound_path(load_or_create_secret(data_dir))
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "smartdialog_sync.pipelines.cli", *root, "--data-dir",
                                    str(data_dir), "serve", "--port", str(port)], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_port("127.0.0.1", port, timeout=60, process=process)
            for timestamp in ("yesterday", "x" * 200):
                body = {"sender": "+358401234567", "recipient": "+358401000001", "content": "hi",
                        "timestamp": timestamp, "messageId": "m-1"}
                assert httpx.post(inbound, json=body, timeout=30).status_code == 422
        finally:
            process.terminate()
            process.wait(timeout=30)
        log.seek(0)
        return log.read().decode().splitlines()


def test_text_records_are_one_line_each_unwrapped_and_unpadded(tmp_path: Path) -> None:
    lines = _serve_and_refuse(tmp_path)
    records = [line for line in lines if " WARNING receiver: " in line]
    assert len(records) == 2, lines
    for record in records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING receiver: POST /hooks/\*\*\*/inbound -> 422 "
                            + re.escape(REASON), record), record
    assert max(len(line) for line in lines) > 80, "a line longer than 80 columns, kept whole"
    assert all(line == line.rstrip() for line in lines), "no padding"
    assert not any(BOX_DRAWING.search(line) for line in lines)
    assert lines[0].startswith("receiving on http://127.0.0.1:") and "journal" in lines[0], "the announcement is one line"


def test_json_records_are_one_object_per_line(tmp_path: Path) -> None:
    lines = _serve_and_refuse(tmp_path, "--log-format", "json")
    records = [json.loads(line) for line in lines if line.startswith("{")]
    refused = [record for record in records if record["logger"] == "receiver"]
    assert len(refused) == 2, lines
    assert {record["level"] for record in refused} == {"WARNING"}
    assert {record["message"] for record in refused} == {f"POST /hooks/***/inbound -> 422 {REASON}"}
    assert all(record["time"].endswith("Z") for record in records)
    assert [line for line in lines if not line.startswith("{")] == lines[:2], "only the announcement is not a record"


def test_the_emulator_logs_uvicorn_records_as_json() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "smartdialog_sync.pipelines.cli", "--log-format", "json", "emulator",
                                "--port", str(port), "--log-level", "info"], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port("127.0.0.1", port, timeout=60, process=process)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert "Started server process" in " ".join(record["message"] for record in records if record["logger"] == "uvicorn.error")
    assert [line for line in err.splitlines() if not line.startswith("{")] == [
        f"SmartDialog emulator on http://127.0.0.1:{port}/api-integrations/v1 (token: sandbox-token)"]
