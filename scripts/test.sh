#!/usr/bin/env bash
# Installs everything the tests need into ./.venv (and project-local tool prefixes), then runs
# the whole suite on two cores. CI runs exactly this on a fresh machine (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
# bubblewrap for the sandbox tests (Debian package); the tests must not silently skip in CI
if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; } \
    || echo "warning: could not install bubblewrap; sandbox tests will say why they skip" >&2
fi
if command -v bwrap >/dev/null 2>&1 && bwrap --ro-bind / / --dev /dev --proc /proc true 2>/dev/null; then
  export SHIFTCTL_REQUIRE_BWRAP=1
fi
exec .venv/bin/python -m pytest -n 2 "$@"
