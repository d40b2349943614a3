#!/usr/bin/env bash
# Installs everything the tests need into ./.venv (and project-local tool prefixes), then runs
# the whole suite on two cores. CI runs exactly this on a fresh machine (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
./scripts/lint.sh  # ruff, mypy and import-linter, before a single test runs
# bubblewrap for the sandbox tests (Debian package); the tests must not silently skip in CI
if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; } \
    || echo "warning: could not install bubblewrap; sandbox tests will say why they skip" >&2
fi
if command -v bwrap >/dev/null 2>&1 && bwrap --ro-bind / / --dev /dev --proc /proc true 2>/dev/null; then
  export SHIFTCTL_REQUIRE_BWRAP=1
fi
# Redis for the rq launcher's tests (Debian package; each test session starts its own server
# on a random port in a temp dir, tests/support/rqhosts.py)
if ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq redis-server >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq redis-server >/dev/null 2>&1; } \
    || echo "warning: could not install redis-server; the rq tests will say why they skip" >&2
fi
if command -v redis-server >/dev/null 2>&1; then
  export SHIFTCTL_REQUIRE_REDIS=1
fi
# Chromium for the dashboard's browser tests (Debian package; Playwright drives it, it never
# downloads a browser of its own)
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
    || echo "warning: could not install chromium; the browser tests will say why they skip" >&2
fi
if command -v chromium >/dev/null 2>&1; then
  export SHIFTCTL_REQUIRE_BROWSER=1
fi

# -- GitHub tracker tests: GitHub's OpenAPI description and recorded responses (npm, pinned) --
# tests/github_fake validates every request and response of the fake GitHub against
# @octokit/openapi; tests/test_github_golden.py replays real responses with fixtures-server;
# the webhook tests sign payloads GitHub really sent (@octokit/webhooks-examples).
GITHUB_NPM=.cache/node/github
if [ ! -f "$GITHUB_NPM/node_modules/@octokit/openapi/generated/api.github.com.json" ] ||
   [ ! -f "$GITHUB_NPM/node_modules/@octokit/fixtures-server/bin/server.js" ] ||
   [ ! -f "$GITHUB_NPM/node_modules/@octokit/webhooks-examples/api.github.com/index.json" ]; then
    mkdir -p "$GITHUB_NPM"
    npm install --prefix "$GITHUB_NPM" --no-audit --no-fund --silent \
        @octokit/openapi@23.0.2 @octokit/fixtures-server@8.1.7 @octokit/webhooks-examples@7.6.1
fi
export SHIFTCTL_REQUIRE_GITHUB=1  # in this run, a missing asset fails its tests
# -- end GitHub tracker tests --

# -- agent CLIs for the real-agent tests: Claude Code and Codex (npm, pinned, project-local) --
# tests/test_claude.py and tests/test_codex.py run them against a scripted model server on
# 127.0.0.1 (tests/model_server); they never reach the internet.
AGENTS_NPM=.cache/node/agents
if [ ! -x "$AGENTS_NPM/node_modules/.bin/claude" ] || [ ! -x "$AGENTS_NPM/node_modules/.bin/codex" ]; then
    mkdir -p "$AGENTS_NPM"
    npm install --prefix "$AGENTS_NPM" --no-audit --no-fund --silent \
        @anthropic-ai/claude-code@2.1.328 @openai/codex@0.169.0
fi
export SHIFTCTL_AGENT_BIN="$PWD/$AGENTS_NPM/node_modules/.bin"
export SHIFTCTL_REQUIRE_AGENTS=1  # in this run, a missing CLI fails its tests instead of skipping
# -- end agent CLIs --

exec .venv/bin/python -m pytest -n 2 "$@"
