"""
What trialnet costs, measured side by side with what users would write
instead, in one run on one machine.

Every measurement runs in a fresh process; repetitions are interleaved (A, B,
C, A, B, C, ...) so that machine drift cancels; medians are compared within
this one run.

    python -m benchmarks.run [--tests N] [--repeat R] [--connections C,C,...]
                             [--rss-tests N]

1. Per-test network cost: each suite does the same work per test (listen on
   127.0.0.1 port 0, connect one client, wait until both ends are connected,
   echo 4 bytes, tear down waiting for the port and both ends).  Its cost is
   the suite's time minus its framework's empty suite, per test.  carly's
   row (L{benchmarks.carly_cases}, the closest peer) needs the C{bench}
   extra; without carly it is skipped, and the report says so.
2. The teardown of one test holding C connections at once, and how it grows.
3. The peak RSS of a trialnet suite and of a hand-written one.

L{benchmarks.pertest} measures the per-test cost of the trial variants with
pyperf (worker processes, calibration, statistics, and C{compare_to} between
two checkouts).  What stays here is what pyperf cannot do: it runs every
process of one benchmark before the next, so only this harness interleaves
the variants and reads each round's ratio against its own empty suite, the
spread that a noisy machine's drift cannot hide in; the peak RSS is that of
a whole trial suite in one process, not of a pyperf worker's loops; and the
teardown of C connections is a single measurement a process, which pyperf's
repetitions would turn into tens of thousands of TIME_WAIT sockets.

Every closed connection leaves a socket in TIME_WAIT for a minute, and a
suite of thousands of tests can fill most of the ephemeral port range, which
slows every later C{bind} and C{connect}.  On Linux, each run therefore
waits until fewer than C{SETTLED_TIME_WAIT} sockets are left in TIME_WAIT.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: How many sockets in TIME_WAIT a run may start with.
SETTLED_TIME_WAIT = 8000

#: The longest wait for TIME_WAIT sockets to expire (Linux keeps them 60 s).
SETTLE_LIMIT = 70.0

_settling = True


@dataclass(frozen=True)
class Variant:
    """
    One way of doing the benchmark's work.

    @ivar command: The command, after C{python -m}.
    @ivar empty: The name of the variant whose cost is subtracted (the same
        framework with empty tests), or C{""}.
    """

    command: tuple[str, ...]
    empty: str = ""


def _trial(suite: str) -> tuple[str, ...]:
    return ("twisted.trial", f"benchmarks.cases.{suite}")


def _unittest(suite: str) -> tuple[str, ...]:
    return ("unittest", f"benchmarks.asyncio_cases.{suite}")


VARIANTS = {
    "(a) empty trial": Variant(_trial("EmptyTests")),
    "(b) hand-written": Variant(_trial("HandWrittenTests"), "(a) empty trial"),
    "(b0) floor: trialnet's work": Variant(
        _trial("HandWrittenBothEndsTests"), "(a) empty trial"
    ),
    "(b1) floor, closed in a cleanup": Variant(
        _trial("CleanupFloorTests"), "(a) empty trial"
    ),
    "(b2) (b1), the reactor observed": Variant(
        _trial("ObservedFloorTests"), "(a) empty trial"
    ),
    "(c) hand-written, 'localhost'": Variant(
        _trial("HandWrittenLocalhostTests"), "(a) empty trial"
    ),
    "(d) trialnet": Variant(_trial("TrialnetTests"), "(a) empty trial"),
    "(d1) carly": Variant(
        ("twisted.trial", "benchmarks.carly_cases.CarlyTests"), "(a) empty trial"
    ),
    "empty asyncio": Variant(_unittest("EmptyAsyncioTests")),
    "(e) asyncio": Variant(_unittest("AsyncioTests"), "empty asyncio"),
    "no sockets": Variant(("benchmarks.raw", "0")),
    "(f) raw sockets": Variant(("benchmarks.raw", "{tests}"), "no sockets"),
}

BASELINE = "(b) hand-written"
CARLY = "(d1) carly"


def carlyMissing() -> str | None:
    """
    Why carly's row cannot run, or C{None} if it can: carly comes with the
    C{bench} extra (C{pip install -e '.[bench]'}), not with C{test}.
    """
    if importlib.util.find_spec("carly") is None:
        return "carly is not installed (pip install -e '.[bench]'): its row is skipped"
    return None


CONCURRENCY = ("hand-written", "trialnet", "floor")


@dataclass(frozen=True)
class Run:
    """
    What one process took.

    @ivar seconds: Wall-clock time.
    @ivar peakKiB: Peak resident set size, in KiB.
    @ivar output: What it printed.
    """

    seconds: float
    peakKiB: int
    output: str


def timeWaitCount() -> int | None:
    """
    How many TCP sockets are in TIME_WAIT, where the system says.
    """
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    fields = line.split()
                    return int(fields[fields.index("tw") + 1])
    except (OSError, ValueError):
        pass
    return None


def settle() -> None:
    """
    Wait, for at most L{SETTLE_LIMIT} seconds, until the earlier runs' TIME_WAIT
    sockets have mostly expired.
    """
    deadline = time.monotonic() + SETTLE_LIMIT
    while time.monotonic() < deadline:
        count = timeWaitCount()
        if count is None or count < SETTLED_TIME_WAIT:
            return
        time.sleep(0.5)


def perTestSeconds(
    module: str, suites: dict[str, str], tests: int, repeat: int
) -> dict[str, float]:
    """
    The median real seconds per test of each of C{module}'s suites, each run
    in a fresh trial process, interleaved, less those of its C{"empty"}
    suite (the interpreter and trial starting).

    @param suites: Each variant's name, and the name of its suite's class;
        C{"empty"} names the empty suite.
    """
    samples: dict[str, list[float]] = {name: [] for name in suites if name != "empty"}
    for _ in range(repeat):
        seconds = {
            name: runProcess(("twisted.trial", f"{module}.{suite}"), tests).seconds
            for name, suite in suites.items()
        }
        for name in samples:
            samples[name].append((seconds[name] - seconds["empty"]) / tests)
    return {name: statistics.median(values) for name, values in samples.items()}


def runProcess(arguments: tuple[str, ...], tests: int) -> Run:
    """
    Run C{python -m arguments} in a fresh process, once earlier runs'
    sockets have settled.

    @raise RuntimeError: If it did not pass.
    """
    if _settling:
        settle()
    environment = dict(
        os.environ,
        TRIALNET_BENCH_TESTS=str(tests),
        PYTHONPATH=os.pathsep.join([PROJECT, os.environ.get("PYTHONPATH", "")]),
    )
    command = [sys.executable, "-m", *(a.format(tests=tests) for a in arguments)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=environment,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or not ("PASSED" in output or "\nOK" in output):
        raise RuntimeError(f"{' '.join(command)} failed:\n{output}")
    return Run(elapsed, usage.ru_maxrss, output)


def perTestCosts(tests: int, repeat: int) -> dict[str, list[Run]]:
    """
    Run every variant C{repeat} times, interleaved.
    """
    skipped = {CARLY} if carlyMissing() else set()
    runs: dict[str, list[Run]] = {name: [] for name in VARIANTS if name not in skipped}
    for _ in range(repeat):
        for name in runs:
            runs[name].append(runProcess(VARIANTS[name].command, tests))
    return runs


def teardownTimes(
    connections: list[int], repeat: int
) -> dict[tuple[str, int], list[float]]:
    """
    The teardown times of one test holding C connections, per variant and
    C, one a round, in the order of the rounds.
    """
    samples: dict[tuple[str, int], list[float]] = {}
    for _ in range(repeat):
        for count in connections:
            for name in CONCURRENCY:
                run = runProcess(("benchmarks.concurrency", name, str(count)), 0)
                seconds = float(run.output.split()[0])
                samples.setdefault((name, count), []).append(seconds)
    return samples


def roundSpread(ours: list[float], theirs: list[float]) -> str:
    """
    The lowest and highest of the ratios of two variants' times, one ratio
    a round (each against the other variant's time of the same round).
    """
    ratios = [a / b for a, b in zip(ours, theirs, strict=True) if b > 0]
    if not ratios:
        return "-"
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def peakMemory(tests: int, repeat: int) -> dict[str, list[Run]]:
    """
    Run the trialnet and the hand-written suites C{repeat} times,
    interleaved, for their peak RSS.
    """
    runs: dict[str, list[Run]] = {"(d) trialnet": [], BASELINE: []}
    for _ in range(repeat):
        for name in runs:
            runs[name].append(runProcess(VARIANTS[name].command, tests))
    return runs


def _spread(runs: dict[str, list[Run]], name: str) -> str:
    """
    The lowest and highest of a variant's ratios to the baseline, one per
    round of the interleaved runs (each round's costs against its own empty
    suite).
    """

    return roundSpread(_costs(runs, name), _costs(runs, BASELINE))


def _costs(runs: dict[str, list[Run]], variant: str) -> list[float]:
    """
    A variant's cost in each round: its time less its empty suite's.
    """
    empty = runs[VARIANTS[variant].empty]
    return [r.seconds - e.seconds for r, e in zip(runs[variant], empty, strict=True)]


def report(
    tests: int,
    repeat: int,
    runs: dict[str, list[Run]],
    connections: list[int],
    samples: dict[tuple[str, int], list[float]],
    rssTests: int,
    memory: dict[str, list[Run]],
) -> None:
    """
    Print the three tables, ratios first.
    """
    medians = {
        name: statistics.median(r.seconds for r in rs) for name, rs in runs.items()
    }
    cost = {
        name: (medians[name] - medians[v.empty]) / tests * 1000
        for name, v in VARIANTS.items()
        if v.empty and name in runs
    }
    print(f"Per-test network cost: {tests} tests per suite, median of {repeat} runs")
    print(f"{'variant':38} {'ratio':>7} {'spread':>11} {'ms/test':>9} {'suite s':>9}")
    for name in runs:
        ratio = f"{cost[name] / cost[BASELINE]:7.2f}" if name in cost else "      -"
        perTest = f"{cost[name]:9.3f}" if name in cost else "        -"
        spread = _spread(runs, name) if name in cost else "-"
        print(f"{name:38} {ratio} {spread:>11} {perTest} {medians[name]:9.2f}")
    trialnet, asyncio = cost["(d) trialnet"], cost["(e) asyncio"]
    print(f"trialnet / asyncio: {trialnet / asyncio:.2f}")
    if CARLY in cost:
        spread = roundSpread(_costs(runs, "(d) trialnet"), _costs(runs, CARLY))
        print(f"trialnet / carly: {trialnet / cost[CARLY]:.2f} (spread {spread})")
    else:
        print(carlyMissing())

    print()
    print(f"(g) Teardown of C concurrent connections, median of {repeat} runs")
    print(
        f"{'C':>6} {'ratio':>7} {'spread':>11} {'trialnet ms':>12}"
        f" {'hand-written ms':>16} {'floor ms':>9} {'floor ratio':>12}"
        f" {'spread':>11}"
    )
    teardowns = {key: statistics.median(values) for key, values in samples.items()}
    for count in connections:
        ours, theirs = teardowns["trialnet", count], teardowns["hand-written", count]
        least = teardowns["floor", count]
        hand = samples["hand-written", count]
        spread = roundSpread(samples["trialnet", count], hand)
        floorSpread = roundSpread(samples["floor", count], hand)
        print(
            f"{count:6} {ours / theirs:7.2f} {spread:>11} {ours * 1000:12.1f}"
            f" {theirs * 1000:16.1f} {least * 1000:9.1f} {least / theirs:12.2f}"
            f" {floorSpread:>11}"
        )
    if len(connections) > 1:
        low, high = connections[0], connections[-1]
        for name in CONCURRENCY:
            growth = teardowns[name, high] / teardowns[name, low]
            exponent = math.log(growth) / math.log(high / low)
            print(f"growth exponent {low}->{high}, {name}: {exponent:.2f}")

    print()
    print(f"(h) Peak RSS of {rssTests} tests, median of {repeat} runs")
    rss = {
        name: statistics.median(r.peakKiB for r in rs) for name, rs in memory.items()
    }
    for name in ("(d) trialnet", BASELINE):
        print(f"{name:32} {rss[name] / rss[BASELINE]:7.2f} {rss[name] / 1024:9.1f} MiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--connections", default="250,500,1000,2000")
    parser.add_argument("--rss-tests", type=int, default=2000)
    parser.add_argument(
        "--no-settle",
        action="store_true",
        help="do not wait for TIME_WAIT sockets to expire (for a smoke run)",
    )
    options = parser.parse_args(argv)
    global _settling
    _settling = not options.no_settle
    connections = [int(c) for c in options.connections.split(",")]
    runs = perTestCosts(options.tests, options.repeat)
    teardowns = teardownTimes(connections, options.repeat)
    memory = peakMemory(options.rss_tests, options.repeat)
    report(
        options.tests,
        options.repeat,
        runs,
        connections,
        teardowns,
        options.rss_tests,
        memory,
    )


if __name__ == "__main__":
    main()
