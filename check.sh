#!/usr/bin/env bash
# The whole check, as CI runs it: lint, types, and the suite under every
# runner and reactor we support.  Run it after installing '.[test]' into
# .venv (see README.rst); it uses that environment's tools.
set -euo pipefail
cd "$(dirname "$0")"
bin=.venv/bin

step() { printf '\n== %s\n' "$*"; }

step "ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .

step "mypy --strict"
"$bin/mypy"

for reactor in epoll asyncio select poll; do
    step "trial, $reactor reactor"
    "$bin/python" -m twisted.trial --reactor="$reactor" tests examples
done

step "python -m unittest"
"$bin/python" -m unittest discover --start-directory tests --top-level-directory . --pattern 'test_*.py'

step "python -m pytest"
"$bin/python" -m pytest -q -p no:cacheprovider tests examples
