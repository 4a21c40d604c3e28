"""Worker processes a test starts beside each other (Python snippets run with `python -c`)."""

from __future__ import annotations

import json
import subprocess
from typing import Any


def json_reports(workers: list[subprocess.Popen[str]], timeout: float = 120) -> list[Any]:
    """Wait for each worker; each must exit 0; return the JSON each printed on stdout, in order."""
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=timeout)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))
    return reports
