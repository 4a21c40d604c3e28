"""OAuth2 under concurrency against the emulator's token endpoint: three processes share one data dir (and so
one rotating refresh token), tokens expire quickly, and the service revokes every access token mid-session."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until

WORKERS = 3
PATIENCE = 120  # seconds for each wait: three processes on a busy machine
SHORT_LIFETIME = 3  # seconds: the client renews 1 s before expiry (a share of the lifetime, at least 1 s)

WORKER = """
import json, sys, time
from pathlib import Path
from smartdialog_sync.api import ClientSettings, SmartDialogClient
from smartdialog_sync.errors import SdsyncError

base_url, root_url, data_dir, control, me = sys.argv[1:6]
control = Path(control)
settings = ClientSettings().with_overrides(
    base_url=base_url, client_id="sandbox-client", client_secret="sandbox-secret",
    refresh_token="sandbox-refresh-token", token_url=root_url + "/oauth2/v2.0/token",
    rate_limit="100000/60", data_dir=data_dir)
calls, failures = 0, []
with SmartDialogClient(settings) as api:
    while not (control / "stop").exists():
        if (control / "pause").exists():
            (control / f"paused-{me}").touch()
            time.sleep(0.02)
            continue
        try:
            api.get_phone_number_regions()
            calls += 1
        except SdsyncError as exc:
            failures.append(str(exc))
        (control / f"calls-{me}.tmp").write_text(str(calls))
        (control / f"calls-{me}.tmp").replace(control / f"calls-{me}")
        time.sleep(0.05)
print(json.dumps({"calls": calls, "failures": failures}))
"""

TOKEN_ANSWER = re.compile(r'"POST /oauth2/v2\.0/token HTTP/1\.1" (\d{3})')


def token_answers(emulator: Any) -> list[str]:
    """The statuses the token endpoint answered, from the emulator's access log (all its runs)."""
    return TOKEN_ANSWER.findall(emulator.output())


def test_three_processes_share_a_rotating_refresh_token_through_expiry_and_revocation(start_emulator, tmp_path: Path) -> None:
    state = tmp_path / "emulator-state.json"
    emulator = start_emulator(state=state, log_level="info", rate_limit="100000/60")  # tokens live an hour first
    data_dir, control = tmp_path / "data", tmp_path / "control"
    control.mkdir()

    def calls(me: int) -> int:
        path = control / f"calls-{me}"
        return int(path.read_text()) if path.exists() else 0

    workers = [subprocess.Popen([sys.executable, "-c", WORKER, emulator.base_url, emulator.root_url, str(data_dir),
                                 str(control), str(me)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for me in range(WORKERS)]
    try:
        wait_until(lambda: all(calls(me) >= 5 for me in range(WORKERS)), "every worker to make calls", timeout=PATIENCE)
        (control / "pause").touch()
        wait_until(lambda: all((control / f"paused-{me}").exists() for me in range(WORKERS)), "the workers to pause", timeout=PATIENCE)
        # The service revokes every access token: restart it with the issued tokens forgotten (refresh tokens kept).
        emulator.stop()
        saved = json.loads(state.read_text())
        assert saved["access_tokens"], "the workers hold issued tokens"
        state.write_text(json.dumps({**saved, "access_tokens": {}}))
        emulator.start()
        emulator.configure(token_expires_in=SHORT_LIFETIME)
        before = {me: calls(me) for me in range(WORKERS)}
        (control / "pause").unlink()
        wait_until(lambda: emulator.stats()["unauthorized"] >= WORKERS, "each worker's 401", timeout=PATIENCE)
        # then run on until the short-lived tokens got from the renewals were replaced before they expired
        # (the three workers share one data dir, so one refresh serves all of them)
        wait_until(lambda: len(token_answers(emulator)) >= 3 * WORKERS, "refreshes before expiry", timeout=PATIENCE)
        wait_until(lambda: all(calls(me) > before[me] + 5 for me in range(WORKERS)), "calls after the renewal", timeout=PATIENCE)
    finally:
        (control / "stop").touch()
        results = [worker.communicate(timeout=60) for worker in workers]
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0, err
        assert json.loads(out)["failures"] == [], out
    answers = token_answers(emulator)
    assert set(answers) == {"200"}, f"the token endpoint refused a refresh (invalid_grant): {answers}"
    assert emulator.stats()["unauthorized"] == WORKERS, "one 401 per worker, renewed once"
    emulator.stop()
    stored = [entry["refresh_token"] for entry in json.loads((data_dir / "oauth_tokens.json").read_text()).values()]
    # every refresh used the newest refresh token exactly once: only the last one issued is still valid
    assert json.loads(state.read_text())["refresh_tokens"] == stored
