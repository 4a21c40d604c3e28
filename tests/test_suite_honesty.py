"""The suite's own honesty: a skip for a missing test service fails the run under CI and is counted in one
line locally; an emulator started for one test that logged a traceback fails that test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

PROBES = {
    "test_needs_postgres.py": 'import pytest\n\ndef test_db():\n    pytest.skip("SDSYNC_TEST_POSTGRES_URL is not set")\n',
    "test_needs_definition.py": ('import pytest\n\npytest.skip("API definition not found at /nowhere", '
                                 'allow_module_level=True)\n\ndef test_conformance():\n    pass\n'),
    "test_ordinary.py": 'import pytest\n\ndef test_win():\n    pytest.skip("only on Windows")\n\ndef test_ok():\n    pass\n',
}


def run_probes(tmp_path: Path, ci: bool, names: tuple[str, ...] = tuple(PROBES)) -> subprocess.CompletedProcess[str]:
    """Run pytest with the plugin on the named probe files in a directory of their own."""
    for name in names:
        (tmp_path / name).write_text(PROBES[name])
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(REPO_ROOT)}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.service_skips", "-p", "no:cacheprovider",
                           "-rA", str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_under_ci_a_missing_postgres_fails_the_test_and_ordinary_skips_stay(tmp_path: Path) -> None:
    result = run_probes(tmp_path, ci=True, names=("test_needs_postgres.py", "test_ordinary.py"))
    assert result.returncode == 1, result.stdout
    assert "FAILED test_needs_postgres.py::test_db - CI is set but PostgreSQL" in result.stdout
    assert "SKIPPED [1] test_ordinary.py:4: only on Windows" in result.stdout


def test_under_ci_a_missing_definition_stops_the_run_at_collection(tmp_path: Path) -> None:
    result = run_probes(tmp_path, ci=True, names=("test_needs_definition.py",))
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout
    assert "ERROR test_needs_definition.py - CI is set but the official API definition" in result.stdout


def test_locally_they_stay_skips_counted_in_one_line(tmp_path: Path) -> None:
    result = run_probes(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED because a test service is missing")]
    assert len(lines) == 1, result.stdout
    assert "1 for PostgreSQL" in lines[0] and "1 for the official API definition" in lines[0]
    assert "only on Windows" not in lines[0]


EMULATOR_500_PROBE = '''
import httpx


def test_a_real_emulator_500(start_emulator, tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    emulator = start_emulator(state=folder / "state.json")
    folder.rmdir()
    folder.write_text("")  # the state can no longer be written: the next change fails inside the emulator
    with emulator.api() as api:
        answer = api.post("/groupcontact/demo-customer/crm-group", json={"phone": "+358401234567"})
    assert answer.status_code == 500  # looks just like an injected fault to the test itself
'''


def test_an_emulator_that_logged_a_traceback_fails_the_test_at_teardown(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(EMULATOR_500_PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
                             str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "1 passed, 1 error" in result.stdout, result.stdout
    assert "ERROR at teardown of test_a_real_emulator_500" in result.stdout
    assert "logged an exception" in result.stdout and "FileExistsError" in result.stdout
