"""Bad connection settings end as one line with the README's exit code, before any call; the core imports no dlt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import clean_env, run_sdsync

CORE_MODULES = ("smartdialog_sync.api", "smartdialog_sync.errors", "smartdialog_sync.phones", "smartdialog_sync.sms_parts",
                "smartdialog_sync.journal", "smartdialog_sync.sqlfiles", "smartdialog_sync.constants")


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["api", "customers"], {"SMARTDIALOG__TIMEOUT": "-1"}, 2, "timeout must be a finite number of seconds above 0"),
        (["api", "customers"], {"SMARTDIALOG__TIMEOUT": "nan"}, 2, "timeout must be a finite number"),
        (["--base-url", "ftp://example.com/api", "api", "customers"], {}, 2, "base_url must be an http:// or https:// URL"),
        (["--base-url", "not a url", "api", "customers"], {}, 2, "base_url must be an http:// or https:// URL"),
        (["api", "customers"], {"SMARTDIALOG__LIMITER_URL": "postgresql://sdsync:hunter2@127.0.0.1:9/limits"}, 1,
         "cannot open the limiter store at postgresql://sdsync:***@127.0.0.1:9/limits"),
    ],
)
def test_bad_settings_end_as_one_line(tmp_path: Path, args: list[str], env: dict[str, str], code: int, message: str) -> None:
    result = run_sdsync(clean_env(COLUMNS="400", **env), "--data-dir", str(tmp_path), *args, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "hunter2" not in result.stderr


def test_the_core_imports_no_dlt() -> None:
    code = f"import sys; import {', '.join(CORE_MODULES)}; print(sorted(m for m in ('dlt', 'pandas') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
