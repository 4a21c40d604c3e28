"""dlt's anonymous telemetry is off by default for smartdialog-sync, and the user can turn it on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import dlt, smartdialog_sync
from dlt.common.runtime import anon_tracker
dlt.pipeline("telemetry_probe", destination="duckdb", pipelines_dir="pipelines")
print("on" if anon_tracker._ANON_TRACKER_ENDPOINT else "off")
"""


def probe(workdir: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "RUNTIME__DLTHUB_TELEMETRY" and not k.startswith("DLT_")}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=workdir, env={**clean, "HOME": str(workdir), **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(("env", "config", "expected"), [
    ({}, None, "off"),
    ({"RUNTIME__DLTHUB_TELEMETRY": "true"}, None, "on"),
    ({}, "[runtime]\ndlthub_telemetry = true\n", "on"),
])
def test_telemetry_is_off_unless_the_user_turns_it_on(tmp_path: Path, env: dict[str, str], config: str | None, expected: str) -> None:
    if config:
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / "config.toml").write_text(config)
    assert probe(tmp_path, **env) == expected
