#!/usr/bin/env bash
# Installs everything the tests need into ./.venv (and project-local tool prefixes), then runs
# the whole suite on two cores. CI runs exactly this on a fresh machine (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest -n 2 "$@"
