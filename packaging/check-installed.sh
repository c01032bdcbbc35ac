#!/usr/bin/env bash
# Build the wheel and the sdist, check them with twine, install the wheel
# into a fresh virtual environment, and run the examples against the
# installed package, from a directory where the source tree cannot be
# imported.  Usage: bash packaging/check-installed.sh PYTHON
set -euo pipefail
cd "$(dirname "$0")/.."
python=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf dist
"$python" -m build --no-isolation --outdir dist . > "$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
"$python" -m twine check --strict dist/*

python3 -m venv "$work/venv"
# The README's install command, as a user types it, with this checkout's
# path: the package and its tls extra from a checkout (it is not published).
install=$(sed -n "s|^    \(pip install '\)/path/to/trialnet\(\[tls\]'\) .*|\1$PWD\2|p" README.rst)
[ -n "$install" ] || { echo "check-installed: no install command in README.rst" >&2; exit 1; }
echo "$install"
eval "$work/venv/bin/$install -q"
cp -r examples "$work/examples"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import importlib.resources, os, trialnet
location = os.path.dirname(trialnet.__file__)
assert "site-packages" in location, location
assert importlib.resources.files("trialnet").joinpath("py.typed").is_file()
import trustme, OpenSSL  # the tls extra
from trialnet import __all__ as names
assert {"Network", "NetworkTestCase", "TeardownError", "Recorder"} <= set(names), names
for name in names:
    getattr(trialnet, name)
print("installed at", location, "with py.typed and", len(names), "names")
PY
"$work/venv/bin/python" -m twisted.trial examples
