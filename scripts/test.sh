#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: installs the project with its test, orchestration and dbt
# extras into .venv (dbt 1.11 and Dagster resolve together in a fresh venv),
# starts a throwaway PostgreSQL (installing it with apt-get when missing and running as root),
# installs Chromium and chromedriver the same way (for the browser sign-in test), runs the compatibility
# subset on Python 3.10 and the newest Python under pyenv (scripts/compat.sh), then the whole suite with
# pytest on SDSYNC_TEST_WORKERS (default 2) workers, each taking whole test files, and stops PostgreSQL again. Extra arguments go to the whole suite's pytest. With the CI
# variable set, a PostgreSQL that cannot start or a missing API definition fails the run instead of
# skipping tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip >/dev/null
python -m pip install -q -e '.[test,orchestration,dbt]'

# Under CI (the CI variable set), a missing service fails the run instead of skipping its tests.
definition=../shared/reference/smartdialog/apiDefinition.swagger.json
if [ ! -f "$definition" ]; then
  if [ -n "${CI:-}" ]; then
    echo "test.sh: CI is set but the API definition $definition is missing: failing (the conformance tests need it)." >&2
    exit 1
  fi
  echo "test.sh: the API definition $definition is missing: the conformance tests will be skipped." >&2
fi

if [ -z "${SDSYNC_TEST_POSTGRES_URL:-}" ]; then
  # shellcheck source=scripts/postgres.sh
  . scripts/postgres.sh
  if start_test_postgres; then
    trap stop_test_postgres EXIT
  elif [ -n "${CI:-}" ]; then
    echo "test.sh: CI is set but PostgreSQL could not be started: failing (its tests need it)." >&2
    exit 1
  else
    echo "test.sh: PostgreSQL could not be started: its tests will be skipped." >&2
  fi
fi

# shellcheck source=scripts/chromium.sh
. scripts/chromium.sh
install_test_chromium || echo "Chromium is not available: the browser sign-in test fails on CI, is skipped elsewhere." >&2

# The compatibility subset on the oldest supported and the newest available Python first, then the whole
# suite on this one; both always run, and either failing fails the script.
status=0
bash scripts/compat.sh || status=1
python -m pytest -n "${SDSYNC_TEST_WORKERS:-2}" --dist loadfile "$@" || status=1
exit $status
