"""The file locks use filelock, so the client, the journal and the ledger import where fcntl does not exist (Windows)."""

from __future__ import annotations

import subprocess
import sys

WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ImportError
import smartdialog_sync.api, smartdialog_sync.journal, smartdialog_sync.destinations.campaigns.ledger
print("imported")
"""


def test_the_client_journal_and_ledger_import_without_fcntl() -> None:
    result = subprocess.run([sys.executable, "-c", WITHOUT_FCNTL], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "imported", result.stderr
