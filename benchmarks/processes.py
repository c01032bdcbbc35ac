"""
What one test against a server in a child process costs with
C{spawnServer()}, against the same test written by hand, in one run on one
machine.

    python -m benchmarks.processes [--tests N] [--repeat R]

Each test starts a Twisted echo server in a child, makes one round trip to
it, and tears down (the connection closed and waited for, the child sent
SIGTERM and its end waited for).  C{spawnServer()} hands the child its
socket by socket activation; the hand-written test uses
C{reactor.spawnProcess} and reads the port from the child's stdout.  Each
suite runs in a fresh process, interleaved; the medians of real seconds a
test, less an empty suite's, and their ratio.
"""

from __future__ import annotations

import argparse

from .run import perTestSeconds


def perTest(tests: int, repeat: int) -> dict[str, float]:
    """
    The median real seconds per test of each suite, in fresh processes,
    less those of an empty suite.
    """
    return perTestSeconds(
        "benchmarks.process_cases",
        {
            "empty": "EmptyTests",
            "spawnServer": "SpawnServerTests",
            "by hand": "ByHandTests",
        },
        tests,
        repeat,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--tests", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    costs = perTest(options.tests, options.repeat)
    print(f"Per test, {options.tests} tests, median of {options.repeat} runs:")
    for name, seconds in costs.items():
        print(f"  {name:<12} {seconds * 1000:8.1f} ms")
    ratio = costs["spawnServer"] / costs["by hand"]
    print(f"  spawnServer / by hand: {ratio:.2f}")


if __name__ == "__main__":
    main()
