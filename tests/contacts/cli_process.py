"""`sdsync` as a real process against the emulator, with its own data dir and none of the developer's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def sdsync(emulator: Any, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (`python -m smartdialog_sync.pipelines.cli ARGS`) to its end in data_dir's parent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMARTDIALOG__", "CONTACTS__", "CAMPAIGNS__"))}
    env.update({"SMARTDIALOG__BASE_URL": emulator.base_url, "SMARTDIALOG__ACCESS_TOKEN": emulator.token,
                "SMARTDIALOG__DATA_DIR": str(data_dir), "COLUMNS": "200"})
    command = [sys.executable, "-m", "smartdialog_sync.pipelines.cli", *args]
    return subprocess.run(command, cwd=data_dir.parent, env=env, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
