#!/usr/bin/env bash
# Static checks: ruff, mypy and import-linter, stopping at the first that fails.
# Uses the tools in ./.venv (scripts/test.sh or `pip install -e '.[test]'` puts them there).
#
# The top-level folders admin/, worker/, memory/ and prompts/ are installed beneath the import
# package shiftctl by setuptools' package-dir mapping, which mypy and import-linter cannot read.
# So this script keeps a tree of symlinks, .cache/src/shiftctl/, laid out as the installed
# package is, and points both tools at it (mypy_path in pyproject.toml; lint-imports runs from
# .cache/src, the directory it puts first on sys.path, so ./shiftctl of the checkout cannot
# shadow the link tree).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/.venv/bin

# -- the link tree (idempotent: ln -sfn replaces a link, never follows it) --
tree=.cache/src/shiftctl
mkdir -p "$tree"
for entry in __init__.py __main__.py system; do
  ln -sfn "$root/shiftctl/$entry" "$tree/$entry"
done
for plane in admin worker memory prompts; do
  ln -sfn "$root/$plane" "$tree/$plane"
done

echo "== ruff"
"$bin/ruff" check admin worker memory shiftctl prompts scripts tests
echo "== mypy"
"$bin/mypy"
echo "== import-linter"
(cd .cache/src && "$bin/lint-imports" --no-logo --cache-dir "$root/.cache/import-linter" \
  "$root/pyproject.toml")
