#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: installs the project and its test extra into .venv,
# starts a throwaway PostgreSQL (installing it with apt-get when missing and running as root),
# runs the compatibility subset on Python 3.10 and the newest Python under pyenv (scripts/compat.sh),
# then the whole suite with pytest, and stops PostgreSQL again. Extra arguments go to the whole suite's pytest.
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

# The compatibility subset on the oldest supported and the newest available Python first, then the whole
# suite on this one; both always run, and either failing fails the script.
status=0
bash scripts/compat.sh -q || status=1
python -m pytest "$@" || status=1
exit $status
