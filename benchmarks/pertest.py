"""
The per-test network cost of trialnet, measured with pyperf.

    python -m benchmarks.pertest [--no-settle] [pyperf's options, e.g. -o FILE]
    python -m benchmarks.pertest --report FILE

Each variant is one pyperf benchmark, and one loop of it is one test of that
variant's suite in L{benchmarks.cases} (listen on 127.0.0.1 port 0, connect
one client, wait until both ends are connected, echo 4 bytes, tear down
waiting for the port and both ends), run in pyperf's worker process by
trial's own C{TestCase.run} into a C{reporter.TestResult}; a value is
therefore the time of one test.  pyperf spawns the worker processes,
calibrates the loops, drops the warmups, keeps the values and the metadata
in its JSON file, and compares two files (C{python -m pyperf compare_to}).

pyperf does not subtract: a variant's cost is its time per test minus the
empty trial test's, as in L{benchmarks.run}, and the report after the run
(or C{--report FILE}, for a file written earlier with C{-o}) prints each
variant's cost and its ratio to the hand-written test's cost, from pyperf's
means and standard deviations.

The defaults (6 processes of 1 warmup and 3 values, at least 25 ms a value)
keep a run to well under a minute and a benchmark to fewer than 2,000 tests;
pyperf's own options (C{--processes}, C{--values}, C{--rigorous}, C{-q},
C{--append}) apply.

What stays in L{benchmarks.run}, and why:

  - Interleaving.  pyperf runs every process of one benchmark before the
    next benchmark starts, so a drift of a noisy machine (this project's
    loopback is a user-space network stack) between two benchmarks goes
    into their ratio.  C{benchmarks.run} runs the variants A, B, C, A, B,
    C, ... in fresh processes, and gives the spread of each round's ratio
    against that round's own empty suite: the error bar that drift cannot
    hide in.
  - The peak RSS of a whole suite.  A pyperf worker runs a calibrated
    number of loops, in-process, after a warmup; what a user runs is a
    suite of N tests under trial's runner, and C{wait4}'s C{ru_maxrss} of
    that one process is its peak.
  - The teardown of one test that holds 1,000 or 2,000 connections.  Each
    measurement opens as many connections and leaves as many sockets in
    TIME_WAIT, so pyperf's calibration, warmups, values and processes
    (dozens of measurements a benchmark) would fill the port range many
    times over; a few interleaved single measurements are what fits.
  - The asyncio and raw-socket rows, which compare trialnet with other
    frameworks rather than with its own other versions (what
    C{compare_to} is for).

Every closed connection leaves a socket in TIME_WAIT for a minute, and
thousands of them can fill most of the ephemeral port range, which slows
every later C{bind} and C{connect}; so every value first waits, outside its
timing, with L{benchmarks.run.settle}, until fewer than
L{benchmarks.run.SETTLED_TIME_WAIT} are left (not with C{--no-settle}, for
a smoke run).  A default run, from a settled machine, leaves fewer than that
and never waits; a longer one is paced by the sockets' expiry.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import Any

import pyperf
from twisted.trial import reporter, unittest

from . import cases
from .run import settle

#: The benchmark whose time per test is subtracted from every other's.
EMPTY = "trial-empty"

#: The benchmark whose cost the others' costs are divided by.
BASELINE = "hand-written"

#: Each benchmark's name, its suite, and what the report calls it, in the
#: order they run and are reported.
VARIANTS: dict[str, tuple[type[unittest.TestCase], str]] = {
    EMPTY: (cases.EmptyTests, "empty trial test"),
    BASELINE: (cases.HandWrittenTests, "hand-written (three Deferreds)"),
    "trialnet": (cases.TrialnetTests, "trialnet"),
    "floor": (cases.HandWrittenBothEndsTests, "floor: trialnet's work by hand"),
    "hand-written-localhost": (
        cases.HandWrittenLocalhostTests,
        "hand-written, 'localhost'",
    ),
}

_settling = True


def runTests(loops: int, case: type[unittest.TestCase]) -> float:
    """
    Run C{loops} tests of C{case} (its first test, C{loops} times), once
    the sockets of earlier values have settled, and say how long they took.

    @raise RuntimeError: If a test did not pass.
    """
    if _settling:
        settle()
    name = min(name for name in dir(case) if name.startswith("test_"))
    suite = unittest.TestSuite([case(name) for _ in range(loops)])
    result = reporter.TestResult()
    started = time.perf_counter()
    suite.run(result)
    elapsed = time.perf_counter() - started
    if result.testsRun != loops or not result.wasSuccessful():
        problems = result.errors + result.failures
        raise RuntimeError(f"{case.__name__} did not pass: {problems}")
    return elapsed


@dataclass(frozen=True)
class Row:
    """
    One variant's line of the report.

    @ivar mean: pyperf's mean time per test, in seconds.
    @ivar stdev: pyperf's standard deviation of the values, in seconds (0
        for a single value).
    @ivar values: How many values pyperf kept.
    @ivar cost: The mean less the empty test's mean, or C{None} for the
        empty test itself.
    @ivar ratio: The cost over the hand-written test's cost.
    @ivar error: The ratio's standard error, to first order, from the
        standard errors of the three means it is made of.
    """

    mean: float
    stdev: float
    values: int
    cost: float | None = None
    ratio: float | None = None
    error: float | None = None


def _stats(benchmark: Any) -> tuple[float, float, int]:
    """
    A pyperf benchmark's mean, standard deviation and number of values.
    """
    values = int(benchmark.get_nvalue())
    stdev = float(benchmark.stdev()) if values > 1 else 0.0
    return float(benchmark.mean()), stdev, values


def rows(suite: Any) -> dict[str, Row]:
    """
    The report's rows, from a C{pyperf.BenchmarkSuite} that holds every
    variant.
    """
    stats = {name: _stats(suite.get_benchmark(name)) for name in VARIANTS}

    def squaredError(name: str) -> float:
        _, stdev, values = stats[name]
        return stdev**2 / values

    empty = stats[EMPTY][0]
    baseline = stats[BASELINE][0] - empty
    found = {EMPTY: Row(*stats[EMPTY])}
    for name in VARIANTS:
        if name == EMPTY:
            continue
        cost = stats[name][0] - empty
        ratio = cost / baseline
        if name == BASELINE:
            found[name] = Row(*stats[name], cost, ratio, 0.0)
            continue
        # (x - e) / (b - e), whose terms share the empty test's mean e.
        variance = (
            squaredError(name)
            + ratio**2 * squaredError(BASELINE)
            + (ratio - 1) ** 2 * squaredError(EMPTY)
        ) / baseline**2
        found[name] = Row(*stats[name], cost, ratio, math.sqrt(variance))
    return found


def report(suite: Any) -> None:
    """
    Print each variant's cost per test and its ratio to the hand-written
    test's cost.
    """
    found = rows(suite)
    print(
        "Per-test network cost, from pyperf's means: a variant's cost is its"
        " mean less the empty trial test's"
    )
    print(
        f"{'variant':34} {'ratio':>6} {'+-':>5} {'cost ms':>8}"
        f" {'mean ms':>8} {'+- std':>7} {'values':>6}"
    )
    for name, (_, label) in VARIANTS.items():
        row = found[name]
        ratio = error = cost = "-"
        if row.ratio is not None and row.error is not None and row.cost is not None:
            ratio, error = f"{row.ratio:.2f}", f"{row.error:.2f}"
            cost = f"{row.cost * 1000:.3f}"
        print(
            f"{label:34} {ratio:>6} {error:>5} {cost:>8}"
            f" {row.mean * 1000:8.3f} {row.stdev * 1000:7.3f} {row.values:6}"
        )


def _passOn(command: list[str], options: argparse.Namespace) -> None:
    """
    Give a worker process this module's own options.
    """
    if options.no_settle:
        command.append("--no-settle")


def main(argv: list[str] | None = None) -> None:
    global _settling
    pyperfRunner = pyperf.Runner(
        values=3,
        processes=6,
        warmups=1,
        min_time=0.025,
        program_args=("-m", "benchmarks.pertest"),
        add_cmdline_args=_passOn,
    )
    pyperfRunner.argparser.add_argument(
        "--report",
        metavar="FILENAME",
        help="print the ratios of a file written earlier with -o, and run nothing",
    )
    pyperfRunner.argparser.add_argument(
        "--no-settle",
        action="store_true",
        help="do not wait for TIME_WAIT sockets to expire (for a smoke run)",
    )
    options = pyperfRunner.parse_args(argv)
    if options.report:
        report(pyperf.BenchmarkSuite.load(options.report))
        return
    _settling = not options.no_settle
    benchmarks = [
        pyperfRunner.bench_time_func(name, runTests, case)
        for name, (case, _) in VARIANTS.items()
    ]
    # A worker, or the manager under --compare-to, has no results to report.
    if not options.worker and None not in benchmarks:
        print()
        report(pyperf.BenchmarkSuite(benchmarks))


if __name__ == "__main__":
    main()
