#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: installs the project and its test extra into .venv,
# starts a throwaway PostgreSQL (installing it with apt-get when missing and running as root),
# runs pytest, and stops PostgreSQL again. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip >/dev/null
python -m pip install -q -e '.[test,orchestration]'

if [ -z "${SDSYNC_TEST_POSTGRES_URL:-}" ]; then
  # shellcheck source=scripts/postgres.sh
  . scripts/postgres.sh
  if start_test_postgres; then
    trap stop_test_postgres EXIT
  else
    echo "PostgreSQL is not available: its tests will be skipped." >&2
  fi
fi

python -m pytest "$@"
