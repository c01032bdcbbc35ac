"""
What trialnet costs per test in instructions: a count that does not move
with the machine's load, for telling two versions of the code apart where
timings cannot (this machine's loopback is a user-space network stack, and
its timings spread by a third from one run to the next).

    python -m benchmarks.instructions [--tests N]

Each trial suite of L{benchmarks.cases} runs under valgrind's cachegrind
(no cache simulation: it only counts), once with a few tests and once with
C{N} more; the difference, divided by C{N}, is the suite's instructions per
test, free of the start-up that both runs share.  A variant's cost is its
count less the empty suite's, and its ratio is that cost over the
hand-written pattern's.

What it counts is the CPU work of the test process, Python bookkeeping
included; it does not count the kernel's side of each system call, nor
waiting.  Read it beside C{benchmarks.run} and C{benchmarks.pertest}, which
time the same suites: instructions tell whether a change made the Python
work smaller, timings whether that shows.

It needs valgrind (Debian's C{valgrind} package).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The tests of the shorter run, whose count is subtracted.
BASE_TESTS = 10

#: Each variant: its suite in L{benchmarks.cases}.
VARIANTS = {
    "empty trial test": "EmptyTests",
    "hand-written (three Deferreds)": "HandWrittenTests",
    "floor: trialnet's work by hand": "HandWrittenBothEndsTests",
    "trialnet": "TrialnetTests",
    "trialnet, virtualTime = True": "TrialnetVirtualTests",
}

EMPTY = "empty trial test"
BASELINE = "hand-written (three Deferreds)"

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


@dataclass(frozen=True)
class Count:
    """
    One suite's instructions per test.

    @ivar perTest: Instructions per test, start-up excluded.
    """

    perTest: float


def valgrind() -> str | None:
    """
    Where valgrind is, if it is installed.
    """
    return shutil.which("valgrind")


def instructions(suite: str, tests: int) -> int:
    """
    Run C{tests} tests of C{suite} under cachegrind.

    @return: The instructions the whole process ran.
    @raise RuntimeError: If valgrind is missing, or the suite did not pass.
    """
    program = valgrind()
    if program is None:
        raise RuntimeError("benchmarks.instructions needs valgrind")
    completed = _runSuite(
        suite,
        tests,
        [
            program,
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
        ],
    )
    found = _REFS.search(completed.stderr)
    if completed.returncode != 0 or "PASSED" not in completed.stdout or not found:
        raise RuntimeError(
            f"{suite} failed under valgrind:\n{completed.stdout}\n{completed.stderr}"
        )
    return int(found.group(1).replace(",", ""))


def _runSuite(
    suite: str, tests: int, under: list[str]
) -> subprocess.CompletedProcess[str]:
    """
    Run C{tests} tests of C{suite} under the command C{under} (nothing, or
    valgrind and its options), with string hashing fixed so that two runs
    build the same dictionaries and sets.
    """
    environment = dict(
        os.environ,
        TRIALNET_BENCH_TESTS=str(tests),
        PYTHONHASHSEED="0",
        PYTHONPATH=os.pathsep.join([PROJECT, os.environ.get("PYTHONPATH", "")]),
    )
    return subprocess.run(
        [*under, sys.executable, "-m", "twisted.trial", f"benchmarks.cases.{suite}"],
        env=environment,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )


def count(suite: str, tests: int) -> Count:
    """
    Count C{suite}'s instructions per test over C{tests} tests.
    """
    # The first run after an install or an edit compiles the modules it
    # imports: done here, uncounted, so that both counted runs load the same
    # bytecode and the compiling does not land in the difference.
    _runSuite(suite, 1, [])
    few = instructions(suite, BASE_TESTS)
    many = instructions(suite, BASE_TESTS + tests)
    return Count((many - few) / tests)


def report(counts: dict[str, Count]) -> list[str]:
    """
    The table: each variant's instructions per test, its cost (less the
    empty test's), and its ratio to the hand-written cost.
    """
    empty = counts[EMPTY].perTest
    baseline = counts[BASELINE].perTest - empty
    lines = [
        "Instructions per test (thousands); cost is less the empty test's",
        f"{'variant':34s} {'ratio':>6s} {'cost':>8s} {'per test':>9s}",
    ]
    for name, measured in counts.items():
        if name == EMPTY:
            lines.append(
                f"{name:34s} {'-':>6s} {'-':>8s} {measured.perTest / 1e3:9.0f}"
            )
            continue
        cost = measured.perTest - empty
        lines.append(
            f"{name:34s} {cost / baseline:6.2f} {cost / 1e3:8.0f} "
            f"{measured.perTest / 1e3:9.0f}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tests", type=int, default=200, help="tests counted per suite (200)"
    )
    options = parser.parse_args(argv)
    counts = {name: count(suite, options.tests) for name, suite in VARIANTS.items()}
    print("\n".join(report(counts)))


if __name__ == "__main__":
    main()
