"""
What trialnet costs per test in instructions: a count that does not move
with the machine's load, for telling two versions of the code apart where
timings cannot (this machine's loopback is a user-space network stack, and
its timings spread by a third from one run to the next).

    python -m benchmarks.instructions [--tests N] [--rounds R]

Each trial suite of L{benchmarks.cases} runs under valgrind's cachegrind
(no cache simulation: it only counts), once with a few tests and once with
C{N} more; the difference, divided by C{N}, is the suite's instructions per
test, free of the start-up that both runs share.  A variant's cost is its
count less the empty suite's, and its ratio is that cost over the
hand-written pattern's.  With C{--rounds R}, every suite is counted R
times, interleaved; the table gives the median of each, and the spread of
the rounds' ratios (each round's costs against its own hand-written and
empty counts).  carly's suite (L{benchmarks.carly_cases}) is counted too
where the C{bench} extra installed carly.

What it counts is the CPU work of the test process, Python bookkeeping
included; it does not count the kernel's side of each system call, nor
waiting.  Read it beside C{benchmarks.run} and C{benchmarks.pertest}, which
time the same suites: instructions tell whether a change made the Python
work smaller, timings whether that shows.

It needs valgrind (Debian's C{valgrind} package).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
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
    "floor, closed in a cleanup": "CleanupFloorTests",
    "floor, cleanup, reactor observed": "ObservedFloorTests",
    "trialnet": "TrialnetTests",
    "trialnet, virtualTime = True": "TrialnetVirtualTests",
}

#: carly's suite, counted where carly is installed.
CARLY = ("carly", "benchmarks.carly_cases.CarlyTests")

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
    # A suite is a class of benchmarks.cases, or given by its full name.
    name = suite if "." in suite else f"benchmarks.cases.{suite}"
    return subprocess.run(
        [*under, sys.executable, "-m", "twisted.trial", name],
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


def report(
    counts: dict[str, Count], spreads: dict[str, str] | None = None
) -> list[str]:
    """
    The table: each variant's instructions per test, its cost (less the
    empty test's), and its ratio to the hand-written cost; with
    C{spreads}, each ratio's lowest and highest over the rounds.
    """
    empty = counts[EMPTY].perTest
    baseline = counts[BASELINE].perTest - empty
    spreadHeading = f" {'spread':>11s}" if spreads is not None else ""
    lines = [
        "Instructions per test (thousands); cost is less the empty test's",
        f"{'variant':34s} {'ratio':>6s} {'cost':>8s} {'per test':>9s}{spreadHeading}",
    ]
    for name, measured in counts.items():
        spread = f" {spreads.get(name, '-'):>11s}" if spreads is not None else ""
        if name == EMPTY:
            lines.append(
                f"{name:34s} {'-':>6s} {'-':>8s} {measured.perTest / 1e3:9.0f}{spread}"
            )
            continue
        cost = measured.perTest - empty
        lines.append(
            f"{name:34s} {cost / baseline:6.2f} {cost / 1e3:8.0f} "
            f"{measured.perTest / 1e3:9.0f}{spread}"
        )
    return lines


def medianOfRounds(
    rounds: list[dict[str, Count]],
) -> tuple[dict[str, Count], dict[str, str]]:
    """
    Each variant's median count over the rounds, and the lowest and highest
    of its ratios, each round's cost against that round's own hand-written
    cost.
    """
    names = list(rounds[0])
    medians = {
        name: Count(statistics.median(r[name].perTest for r in rounds))
        for name in names
    }
    spreads: dict[str, str] = {}
    for name in names:
        if name == EMPTY:
            continue
        ratios = [
            (r[name].perTest - r[EMPTY].perTest)
            / (r[BASELINE].perTest - r[EMPTY].perTest)
            for r in rounds
        ]
        spreads[name] = f"{min(ratios):.2f}-{max(ratios):.2f}"
    return medians, spreads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tests", type=int, default=200, help="tests counted per suite (200)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds of every suite (1)"
    )
    options = parser.parse_args(argv)
    variants = dict(VARIANTS)
    if importlib.util.find_spec("carly") is not None:
        variants[CARLY[0]] = CARLY[1]
    rounds = [
        {name: count(suite, options.tests) for name, suite in variants.items()}
        for _ in range(options.rounds)
    ]
    if options.rounds == 1:
        print("\n".join(report(rounds[0])))
        return
    medians, spreads = medianOfRounds(rounds)
    print(f"Median of {options.rounds} rounds")
    print("\n".join(report(medians, spreads)))


if __name__ == "__main__":
    main()
