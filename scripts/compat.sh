#!/usr/bin/env bash
# Run the compatibility subset of the tests (timestamps and parsing, receiver, pull, contact and campaign
# planning) on the oldest supported Python (3.10) and the newest one this machine carries under pyenv.
# Each gets its own venv (.venv-3.X). Under CI a missing interpreter fails the run; locally it is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

COMPAT_TESTS=(
  tests/api/test_validation.py
  tests/api/test_retry_policy.py
  tests/receiver
  tests/source/test_resources.py
  tests/contacts/test_mapping.py
  tests/contacts/test_plan.py
  tests/campaigns/test_planning.py
)

pyenv_python() {  # the newest installed CPython whose version starts with $1 (e.g. 3.10 or 3), or nothing
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  ls -d "$root"/versions/"$1".* 2>/dev/null | grep -E '/[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1 | sed 's|$|/bin/python|'
}

status=0
for wanted in 3.10 3; do
  python_bin=$(pyenv_python "$wanted")
  if [ -z "$python_bin" ] || [ ! -x "$python_bin" ]; then
    echo "compat: no Python $wanted.x under pyenv" >&2
    if [ -n "${CI:-}" ]; then status=1; fi
    continue
  fi
  version=$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  venv=".venv-$version"
  [ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -e '.[test]'
  echo "compat: Python $version" >&2
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "${COMPAT_TESTS[@]}" "$@" || status=1
done
exit $status
