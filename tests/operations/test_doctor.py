"""`sdsync doctor` against the emulator: sources of settings, credentials, databases, privacy, exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import smartdialog_sync
from smartdialog_sync.state.files import LIMITER_FILE
from smartdialog_sync.state.location import user_cache_dir
from tests.support.cli import Sdsync

WRONG_TOKEN = "wrong-token-5f3a9c"


def _lines(text: str) -> dict[str, str]:
    """The doctor's lines by check name: {"credentials": "ok    credentials: ...", ...}."""
    return {line[6:].split(":", 1)[0]: line for line in text.splitlines() if line[:5].strip() in ("ok", "fail", "skip", "info")}


def _private_crm(tmp_path: Path) -> str:
    path = tmp_path / "crm.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE customers (id INTEGER, phone TEXT)")
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def test_a_sound_setup_passes_and_spends_one_call(emulator: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    sdsync = Sdsync(tmp_path, "--data-dir", str(data),
                    env={"SMARTDIALOG__BASE_URL": emulator.base_url, "SMARTDIALOG__ACCESS_TOKEN": emulator.token})
    calls = emulator.stats()["calls_total"]
    done = sdsync.run("doctor", "--crm", _private_crm(tmp_path), umask=0o077)
    assert done.returncode == 0, done.stdout + done.stderr
    assert emulator.stats()["calls_total"] == calls + 1, "exactly one API call"
    lines = _lines(done.stdout)
    assert lines["credentials"].startswith("ok    credentials: GetCustomers answered with 1 customer(s)")
    assert "spent 1 call of the 100/60 budget" in lines["credentials"]
    assert "a local emulator" in lines["base url"]
    assert lines["setting base_url"].endswith("(from environment variable SMARTDIALOG__BASE_URL)")
    assert lines["setting access_token"] == "info  setting access_token: *** (from environment variable SMARTDIALOG__ACCESS_TOKEN)"
    assert lines["setting data_dir"].endswith("(from --data-dir on the command line)")
    assert lines["setting rate_limit"].endswith("100/60 (from default)")
    # one window per user and connection, shared by every data dir on this machine
    assert lines["limiter store"].startswith(f"ok    limiter store: {user_cache_dir() / LIMITER_FILE} opens")
    assert lines["token store"].startswith("skip  token store: no OAuth2 client configured")
    assert lines["journal"].startswith("ok    journal:") and "not created yet" in lines["journal"]
    assert lines["crm"].startswith("ok    crm:")
    assert lines["data folder"].startswith(f"ok    data folder: {data} is private")
    assert lines["versions"].startswith(f"info  versions: sdsync {smartdialog_sync.__version__}, Python 3.")
    assert " dlt 1." in lines["versions"] and "DuckDB " in lines["versions"]
    assert emulator.token not in done.stdout + done.stderr

    checks = json.loads(sdsync.run("doctor", "--offline", "--json", umask=0o077).stdout)
    assert {check["name"]: check["outcome"] for check in checks}["credentials"] == "skip"
    assert emulator.stats()["calls_total"] == calls + 1, "--offline makes no call"


def test_settings_from_toml_files_are_traced_and_secrets_masked(emulator: Any, tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(f'[smartdialog]\nbase_url = "{emulator.base_url}"\nrate_limit = "7/3"\n')
    (tmp_path / ".dlt" / "secrets.toml").write_text(f'[smartdialog]\naccess_token = "{WRONG_TOKEN}"\n')
    sdsync = Sdsync(tmp_path, "--data-dir", str(tmp_path / "data"))
    calls = emulator.stats()["calls_total"]
    done = sdsync.run("doctor")
    assert done.returncode == 1
    lines = _lines(done.stdout)
    assert lines["setting base_url"].endswith("(from ./.dlt/config.toml [smartdialog])")
    assert lines["setting rate_limit"] == "info  setting rate_limit: 7/3 (from ./.dlt/config.toml [smartdialog])"
    assert lines["setting access_token"] == "info  setting access_token: *** (from ./.dlt/secrets.toml [smartdialog])"
    assert lines["credentials"].startswith("fail  credentials: GetCustomers failed:")
    assert "HTTP 401" in lines["credentials"] and "fix:" in lines["credentials"]
    assert "spent 1 call of the 7/3 budget" in lines["credentials"]
    assert emulator.stats()["calls_total"] == calls + 1, "a refused token is not retried"
    assert WRONG_TOKEN not in done.stdout + done.stderr
    assert "check(s) failed: credentials" in done.stderr


def test_unreachable_databases_fail_with_passwords_hidden(emulator: Any, tmp_path: Path) -> None:
    unreachable = "postgresql://sdsync:pa55word-x@127.0.0.1:1/crm"
    sdsync = Sdsync(tmp_path, "--data-dir", str(tmp_path / "data"),
                    env={"SMARTDIALOG__BASE_URL": emulator.base_url, "SMARTDIALOG__LIMITER_URL": unreachable})
    done = sdsync.run("doctor", "--offline", "--crm", unreachable, "--crm", f"sqlite:///{tmp_path / 'missing.sqlite'}",
                      "--journal", unreachable)
    assert done.returncode == 1
    lines = _lines(done.stdout)
    for name in ("limiter store", "crm 1", "journal"):
        assert lines[name].startswith(f"fail  {name}: postgresql://sdsync:***@127.0.0.1:1/crm does not open:"), lines[name]
        assert "fix:" in lines[name]
    assert "missing.sqlite does not exist" in lines["crm 2"]
    assert "pa55word-x" not in done.stdout + done.stderr
    assert not (tmp_path / "missing.sqlite").exists(), "doctor never creates a database it checks"


def test_a_reachable_postgres_and_a_destination_from_the_environment(emulator: Any, postgres_url: str, tmp_path: Path) -> None:
    sdsync = Sdsync(tmp_path, "--data-dir", str(tmp_path / "data"),
                    env={"SMARTDIALOG__BASE_URL": emulator.base_url, "DESTINATION__POSTGRES__CREDENTIALS": postgres_url})
    done = sdsync.run("doctor", "--offline", "--crm", postgres_url, "--journal", postgres_url, umask=0o077)
    assert done.returncode == 0, done.stdout
    lines = _lines(done.stdout)
    assert "opens (PostgreSQL " in lines["crm"] and "opens (PostgreSQL " in lines["journal"]
    assert lines["postgres destination"].endswith("(from environment variable DESTINATION__POSTGRES__CREDENTIALS)")


def test_a_data_folder_open_to_others_fails_with_the_fix(emulator: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "ratelimit.sqlite").touch()
    os.chmod(data / "ratelimit.sqlite", 0o644)  # explicit: an in-process CLI test may have set this process's umask
    sdsync = Sdsync(tmp_path, "--data-dir", str(data), env={"SMARTDIALOG__BASE_URL": emulator.base_url})
    done = sdsync.run("doctor", "--offline")
    assert done.returncode == 1
    line = _lines(done.stdout)["data folder"]
    assert line.startswith(f"fail  data folder: 2 of 2 entries in {data} are open to group or others")
    assert f"fix: chmod -R go-rwx {data}" in line
    for path in (data, data / "ratelimit.sqlite"):
        path.chmod(path.stat().st_mode & ~0o077)
    assert sdsync.run("doctor", "--offline").returncode == 0


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    done = Sdsync(tmp_path).run("doctor", "--no-such-option")
    assert done.returncode == 2
    assert "No such option" in done.stderr
    assert Sdsync(tmp_path).run("status", "--backlog-hours", "soon").returncode == 2


def test_missing_credentials_for_a_remote_api_fail_with_the_fix(tmp_path: Path) -> None:
    sdsync = Sdsync(tmp_path, "--data-dir", str(tmp_path / "data"),
                    env={"SMARTDIALOG__BASE_URL": "https://api.example.invalid/api-integrations/v1"})
    done = sdsync.run("doctor")
    assert done.returncode == 1
    lines = _lines(done.stdout)
    assert lines["credentials"].startswith("fail  credentials: configuration: no credentials")
    assert "neither production" in lines["base url"]
    assert lines["limiter store"].startswith("ok    limiter store:")
    assert not (tmp_path / "data").exists(), "doctor without an API call creates nothing"
