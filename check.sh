#!/usr/bin/env bash
# The whole check, as CI runs it: lint, types, and the suite under every
# runner and reactor we support.  Run it after installing '.[test]' into
# .venv (see docs/development.rst); it uses that environment's tools.
set -euo pipefail
cd "$(dirname "$0")"
bin=.venv/bin

mkdir -p build/logs

# Each step's wall time, printed together at the end.
timings=()
current=""
endStep() {
    if [ -n "$current" ]; then
        timings+=("$(printf '%5ss  %s' "$((SECONDS - stepStarted))" "$current")")
    fi
}
step() {
    endStep
    current="$*"
    stepStarted=$SECONDS
    printf '\n== %s\n' "$*"
}

# How many tests a runner's log says ran: trial's "Ran N tests", pytest's
# "N passed, M skipped" (and expected failures), and for unittest -v the test
# methods it started (not the runTest of every TestCase class a test module
# imports).  Empty when the log says nothing of the kind.
ran() {
    case "$1" in
    trial) grep -oE '^Ran [0-9]+ tests' "$2" | tail -n 1 | grep -oE '[0-9]+' ;;
    pytest) grep -E '[0-9]+ (passed|skipped|xfailed|xpassed)' "$2" \
        | tail -n 1 | grep -oE '[0-9]+ (passed|skipped|xfailed|xpassed)' \
        | awk '{ n += $1 } END { if (NR) print n }' ;;
    unittest) grep -cE '^test[A-Za-z0-9_]* \(' "$2" ;;
    esac
}

# Fail unless a leg ran every test the first trial leg ran: a runner that
# collects nothing, or skips a module it cannot import, would pass quietly.
expectAll() {
    local got
    got=$(ran "$1" "$2" || true)
    if [ "$got" != "$expected" ]; then
        echo "check.sh: $1 ran ${got:-no} tests where trial ran $expected" >&2
        exit 1
    fi
    echo "check.sh: $1 ran $got tests, as many as trial"
}

step "ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .

step "lint-imports (the layers contract in .importlinter)"
"$bin/lint-imports"

step "mypy --strict"
"$bin/mypy"
# Outside the clone, mypy finds trialnet only if the editable install is a
# path entry (editable_mode=compat puts the clone on sys.path through a .pth
# file), not setuptools' import hook, which type checkers do not follow.
outside=$(mktemp -d)
printf 'import trialnet\n\nnetwork: trialnet.Network = trialnet.Network()\n' \
    > "$outside/uses.py"
(cd "$outside" && "$OLDPWD/$bin/mypy" --strict --no-incremental uses.py)
rm -rf "$outside"

# epoll and asyncio run the suite in one process, in order; select and poll
# run it in two workers (trial -j2), which also shows that parallel workers
# do not collide on ports or paths, in half the time on two cores.  (Under
# "trial -j2 --reactor=asyncio" a worker dies at its first network test,
# "flush of closed file", even for a plain Twisted test without trialnet.)
expected=""
for reactor in epoll asyncio select poll; do
    case "$reactor" in
    select | poll)
        step "trial -j2, $reactor reactor (parallel workers: no port or path collisions)"
        "$bin/python" -m twisted.trial -j2 --reactor="$reactor" tests examples \
            | tee "build/logs/trial-$reactor.log"
        ;;
    *)
        # Through tests.childrenLeft: the run fails if it left a child
        # process of the runner behind, running or a zombie.
        step "trial, $reactor reactor (and no child process left)"
        "$bin/python" -m tests.childrenLeft -m twisted.trial --reactor="$reactor" \
            tests examples | tee "build/logs/trial-$reactor.log"
        ;;
    esac
    if [ -z "$expected" ]; then
        expected=$(ran trial "build/logs/trial-$reactor.log" || true)
        [ -n "$expected" ] || { echo "check.sh: trial ran no tests" >&2; exit 1; }
    else
        expectAll trial "build/logs/trial-$reactor.log"
    fi
done

step "python -m unittest"
# Every test module, in the folders that mirror the subpackages too.
modules=$(find tests examples -name 'test_*.py' | sort | sed -e 's/\.py$//' -e 's#/#.#g')
# shellcheck disable=SC2086 # one argument a module
"$bin/python" -m unittest -v $modules 2>&1 | tee build/logs/unittest.log
expectAll unittest build/logs/unittest.log

step "python -m pytest"
"$bin/python" -m pytest -q -p no:cacheprovider tests examples | tee build/logs/pytest.log
expectAll pytest build/logs/pytest.log

step "pytest -n 2 (xdist)"
"$bin/python" -m pytest -q -p no:cacheprovider -n 2 tests examples \
    | tee build/logs/pytest-n2.log
expectAll pytest build/logs/pytest-n2.log

step "the lowest supported Twisted (packaging/lowest.txt)"
if [ ! -x .venv-lowest/bin/python ]; then
    python3 -m venv .venv-lowest
fi
.venv-lowest/bin/pip install -q -e '.[test]' --config-settings editable_mode=compat \
    -c packaging/lowest.txt
.venv-lowest/bin/python -c 'import twisted; print("Twisted", twisted.__version__)'
.venv-lowest/bin/python -m twisted.trial tests examples | tee build/logs/trial-lowest.log
expectAll trial build/logs/trial-lowest.log

step "documentation (the pages and the API, one site; a warning fails)"
# Sphinx builds docs/ into build/docs, and pydoctor's extension builds the
# API pages into build/docs/api; a warning of either (a broken reference, a
# missing literalinclude) fails.  Nothing is fetched: docs/conf.py makes an
# inventory of the installed Twisted with pydoctor, once per version.
rm -rf build/docs
"$bin/sphinx-build" -q -W --keep-going -b html docs build/docs
# The examples the pages show type-check as they are.
if grep -l 'type: ignore' build/docs/*.html; then
    echo "check.sh: a page shows code that needs '# type: ignore'" >&2
    exit 1
fi
echo "build/docs/index.html"

step "the package as users install it"
bash packaging/check-installed.sh "$bin/python"
endStep

printf '\n== wall time of each step\n'
printf '%s\n' "${timings[@]}"
printf '%5ss  in all\n' "$SECONDS"
