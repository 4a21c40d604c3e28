# A function to make Debian's Chromium and chromedriver available for the browser sign-in test
# (tests/auth). install_test_chromium returns 1 when they are missing and cannot be installed
# (not root, no apt-get); the test then fails on CI (CI=true) and is skipped elsewhere.

install_test_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and chromium-driver with apt-get ..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
      || return 1
  fi
  command -v chromium >/dev/null && command -v chromedriver >/dev/null
}
