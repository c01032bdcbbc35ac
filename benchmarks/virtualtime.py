"""
What virtual time saves: the real seconds of the time examples
(C{examples/test_time.py}) with virtual time and without it.

    python -m benchmarks.virtualtime [--repeat R] [--virtual-only]

Each run is a fresh trial process over one example class; without virtual
time the examples wait their timeouts in real seconds (about eight minutes
in all, most of it the five-minute outage of the backoff example), so
C{--virtual-only} leaves that column out.  The per-test instructions of
C{virtualTime = True} on the echo test are in L{benchmarks.instructions}.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The example classes of C{examples/test_time.py}.
EXAMPLES = (
    "IdleTests",
    "BackoffTests",
    "HTTPTimeoutTests",
    "RetransmitTests",
    "LatencyTests",
)


def seconds(example: str, virtual: bool) -> float:
    """
    Run one example class in a fresh trial process.

    @return: Its real seconds, start-up included.
    @raise RuntimeError: If it did not pass.
    """
    environment = dict(
        os.environ,
        TRIALNET_BENCH_VIRTUAL="1" if virtual else "0",
        PYTHONPATH=os.pathsep.join([PROJECT, os.environ.get("PYTHONPATH", "")]),
    )
    started = time.monotonic()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "twisted.trial",
            f"benchmarks.virtualtime_cases.{example}",
        ],
        env=environment,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - started
    if completed.returncode != 0 or "PASSED" not in completed.stdout:
        raise RuntimeError(f"{example} failed:\n{completed.stdout}\n{completed.stderr}")
    return took


def report(rows: dict[str, tuple[float, float | None]]) -> list[str]:
    """
    The table: each example's real seconds without and with virtual time,
    and their ratio.
    """
    lines = [
        "Real seconds of the time examples (median), without and with virtual time",
        f"{'example':20s} {'real time':>10s} {'virtual':>8s} {'ratio':>7s}",
    ]
    for name, (virtual, real) in rows.items():
        if real is None:
            lines.append(f"{name:20s} {'-':>10s} {virtual:8.2f} {'-':>7s}")
        else:
            lines.append(
                f"{name:20s} {real:10.2f} {virtual:8.2f} {real / virtual:7.0f}"
            )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs each (3)")
    parser.add_argument(
        "--virtual-only",
        action="store_true",
        help="leave out the runs without virtual time (minutes long)",
    )
    options = parser.parse_args(argv)
    rows: dict[str, tuple[float, float | None]] = {}
    for example in EXAMPLES:
        virtual = statistics.median(
            seconds(example, True) for _ in range(options.repeat)
        )
        real = None if options.virtual_only else seconds(example, False)
        rows[example] = (virtual, real)
    print("\n".join(report(rows)))


if __name__ == "__main__":
    main()
