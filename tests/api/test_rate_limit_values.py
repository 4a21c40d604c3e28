"""Rate limits that would disable or break limiting are refused (exit 2), by the client, the CLI and the emulator."""

from __future__ import annotations

import subprocess
import sys

import pytest

from smartdialog_sync.errors import ConfigurationError
from smartdialog_sync.rate_limit import RateLimit
from tests.support.cli import clean_env, run_sdsync

BAD = ["100/inf", "1/nan", "0/60", "-1/60", "abc", "1/0", "10/-5", "1.5/60", "100", "100/60/2", "[/x]"]


@pytest.mark.parametrize("text", BAD)
def test_bad_rate_limits_are_configuration_errors(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RateLimit.parse(text)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("text", "calls", "seconds"), [("100/60", 100, 60.0), ("5/2.5", 5, 2.5), (" 3 / 1 ", 3, 1.0)])
def test_good_rate_limits_parse(text: str, calls: int, seconds: float) -> None:
    assert RateLimit.parse(text) == RateLimit(calls, seconds)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=clean_env(), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("text", ["100/inf", "1/nan"])
def test_the_cli_and_the_emulator_refuse_an_endless_window(text: str) -> None:
    cli = run_sdsync(clean_env(), "--rate-limit", text, "api", "customers", timeout=60)
    assert cli.returncode == 2 and len(cli.stderr.strip().splitlines()) == 1, cli.stderr
    assert "finite window" in cli.stderr
    emulator = _run("-m", "smartdialog_sync.emulator", "--port", "1", "--rate-limit", text)
    assert emulator.returncode == 2 and "finite window" in emulator.stderr, emulator.stderr


def test_the_emulator_admin_refuses_an_endless_window(emulator) -> None:
    answer = emulator.admin.post("/config", json={"rate_limit": "100/inf"})
    assert answer.status_code == 400 and "finite window" in answer.text
    assert emulator.admin.get("/config").json()["rate_limit"] == "100000/60"
