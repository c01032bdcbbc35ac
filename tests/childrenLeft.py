"""
Run a test runner in this process, then fail if it left a child process of
this one behind, running or a zombie (one nobody reaped)::

    python -m tests.childrenLeft -m twisted.trial --reactor=epoll tests examples

(As a module, not a script: a script's directory goes first on the path,
and C{tests/typing} would hide the standard library's C{typing}.)

check.sh runs the suite this way, so that a test that leaves a child
fails the check even when every test passed.  What it finds is named, then
killed and reaped, so that nothing outlives the check.  Linux: children are
read from C{/proc}.  (A grandchild whose parent ended is init's, not ours:
the tests of processes check those themselves.)
"""

# ruff: noqa: N999

from __future__ import annotations

import os
import runpy
import signal
import sys
import time

#: Seconds a child may take to end after the runner finished.
GRACE = 2.0


def children() -> dict[int, str]:
    """
    The children of this process: their states and command lines.
    """
    found = {}
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").strip()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[1]) == me:
            state = fields[0].decode("ascii")
            found[int(name)] = f"state {state}: {command.decode(errors='replace')}"
    return found


def _running(found: dict[int, str]) -> bool:
    return any(not text.startswith("state Z") for text in found.values())


def leftBehind(grace: float = GRACE) -> dict[int, str]:
    """
    The children still there after C{grace} seconds (a zombie at once: it
    will not reap itself).
    """
    deadline = time.monotonic() + grace
    found = children()
    while _running(found) and time.monotonic() < deadline:
        time.sleep(0.05)
        found = children()
    return found


def _end(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    """
    Run C{-m module args...} as C{python -m} would, then check.

    @return: The runner's exit status, or 1 if it succeeded but left a
        child.
    """
    if len(argv) < 3 or argv[1] != "-m":
        print(f"usage: {argv[0]} -m module [args...]", file=sys.stderr)
        return 2
    module = argv[2]
    sys.argv = [module, *argv[3:]]
    status: object = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        status = exit.code
    code = status if isinstance(status, int) else (0 if status is None else 1)
    left = leftBehind()
    if not left:
        return code
    sys.stdout.flush()
    print(
        f"childrenLeft.py: the run left {len(left)} child process(es) behind:",
        file=sys.stderr,
    )
    for pid, text in sorted(left.items()):
        print(f"  - pid {pid}, {text}", file=sys.stderr)
    _end(sorted(left))
    return code or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
