"""What the test folders share: running `sdsync` (cli), waiting for a condition (waiting), a recording HTTP
server for callbacks and webhooks (callback_server). Fixtures built on them live in tests/conftest.py."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
