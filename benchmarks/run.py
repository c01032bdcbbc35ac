"""
Per-test network cost of trialnet against the hand-written teardown.

Each suite runs under trial in a fresh process; the repetitions are
interleaved (A, B, C, A, B, C, ...) so that machine drift cancels, and the
medians are compared within this one run.

    python -m benchmarks.run [--tests N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SUITES = {
    "empty": "EmptyTests",
    "hand-written": "HandWrittenTests",
    "hand-written, 'localhost'": "HandWrittenLocalhostTests",
    "trialnet": "TrialnetTests",
}


def runSuite(suite: str, tests: int) -> float:
    """
    Run one suite in a fresh trial process.

    @return: Its wall-clock time in seconds.
    @raise RuntimeError: If the suite did not pass.
    """
    environment = dict(
        os.environ,
        TRIALNET_BENCH_TESTS=str(tests),
        PYTHONPATH=os.pathsep.join([PROJECT, os.environ.get("PYTHONPATH", "")]),
    )
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "twisted.trial", f"benchmarks.cases.{suite}"],
        env=environment,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0 or "PASSED" not in completed.stdout:
        raise RuntimeError(f"{suite} failed:\n{completed.stdout}{completed.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args(argv)
    times: dict[str, list[float]] = {name: [] for name in SUITES}
    for _ in range(options.repeat):
        for name, suite in SUITES.items():
            times[name].append(runSuite(suite, options.tests))
    medians = {name: statistics.median(values) for name, values in times.items()}
    perTest = {
        name: (medians[name] - medians["empty"]) / options.tests * 1000
        for name in SUITES
    }
    baseline = perTest["hand-written"]
    print(f"{options.tests} tests per suite, median of {options.repeat} runs")
    print(f"{'suite':28} {'ratio':>7} {'ms/test':>9} {'suite s':>9}")
    for name in SUITES:
        ratio = f"{perTest[name] / baseline:7.2f}" if name != "empty" else "      -"
        print(f"{name:28} {ratio} {perTest[name]:9.3f} {medians[name]:9.2f}")


if __name__ == "__main__":
    main()
