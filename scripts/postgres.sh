# Functions to run a throwaway PostgreSQL for the tests on 127.0.0.1:${SDSYNC_TEST_PG_PORT:-55432}.
# start_test_postgres exports SDSYNC_TEST_POSTGRES_URL (or says why it failed, cleans up and returns 1);
# stop_test_postgres stops and removes it. Only the server in its own temporary directory is ever stopped.

_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_test_postgres() {
  local bin port dir
  bin=$(_pg_bin)
  if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL with apt-get ..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || return 1
    bin=$(_pg_bin)
  fi
  [ -n "$bin" ] || return 1
  port=${SDSYNC_TEST_PG_PORT:-55432}
  dir=$(mktemp -d /tmp/sdsync-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
    chown postgres "$dir"
    _pg_run() { su postgres -s /bin/sh -c "$*"; }
  else
    _pg_run() { sh -c "$*"; }
  fi
  export SDSYNC_TEST_PG_DIR="$dir" SDSYNC_TEST_PG_BIN="$bin"
  if ! { _pg_run "$bin/initdb -D $dir/data -A trust -U postgres >/dev/null" &&
         _pg_run "$bin/pg_ctl -D $dir/data -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off' -l $dir/log -w start >/dev/null" &&
         _pg_run "$bin/createdb -h 127.0.0.1 -p $port -U postgres sdsync_test"; }; then
    echo "PostgreSQL did not start on 127.0.0.1:$port; its log ends with:" >&2
    tail -n 5 "$dir/log" >&2 2>/dev/null || true
    stop_test_postgres
    return 1
  fi
  export SDSYNC_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/sdsync_test"
  echo "PostgreSQL running for the tests at $SDSYNC_TEST_POSTGRES_URL" >&2
}

stop_test_postgres() {
  [ -n "${SDSYNC_TEST_PG_DIR:-}" ] || return 0
  if [ -f "$SDSYNC_TEST_PG_DIR/data/postmaster.pid" ]; then
    _pg_run "$SDSYNC_TEST_PG_BIN/pg_ctl -D $SDSYNC_TEST_PG_DIR/data -m fast -w stop >/dev/null" || true
  fi
  rm -rf "$SDSYNC_TEST_PG_DIR"
  unset SDSYNC_TEST_PG_DIR
}
