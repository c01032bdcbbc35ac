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

step "trial -j2 (parallel workers: no port or path collisions)"
"$bin/python" -m twisted.trial -j2 tests examples

step "pytest -n 2 (xdist)"
"$bin/python" -m pytest -q -p no:cacheprovider -n 2 tests examples

step "the lowest supported Twisted (packaging/lowest.txt)"
if [ ! -x .venv-lowest/bin/python ]; then
    python3 -m venv .venv-lowest
fi
.venv-lowest/bin/pip install -q -e '.[test]' -c packaging/lowest.txt
.venv-lowest/bin/python -c 'import twisted; print("Twisted", twisted.__version__)'
.venv-lowest/bin/python -m twisted.trial tests examples

step "API documentation (pydoctor; a warning, such as a broken reference, fails)"
# References to Twisted resolve through an inventory of the installed
# Twisted, made here: no network is needed, and the links point to Twisted's
# published API documentation.
twisted=$("$bin/python" -c 'import os, twisted; print(os.path.dirname(twisted.__file__))')
rm -rf build/twisted-inventory build/apidocs
mkdir -p build
"$bin/pydoctor" --quiet --make-intersphinx --project-name=Twisted \
    --html-output=build/twisted-inventory "$twisted" > build/twisted-inventory.log 2>&1 \
    || { cat build/twisted-inventory.log; exit 1; }
"$bin/pydoctor" --quiet --warnings-as-errors --docformat=epytext \
    --project-name=trialnet --project-base-dir=. \
    --intersphinx-file=build/twisted-inventory/objects.inv::https://docs.twisted.org/en/stable/api/ \
    --html-output=build/apidocs trialnet
echo "build/apidocs/index.html"

step "the package as users install it"
bash packaging/check-installed.sh "$bin/python"
