"""
Smoke runs of the benchmark harnesses: they run and print every variant.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

import pyperf
from twisted.trial.unittest import SynchronousTestCase

from benchmarks import instructions, pertest, run, virtualtime


def privateDirectory(test: SynchronousTestCase) -> str:
    """
    A private temporary directory, removed after C{test}: not under the
    working directory, which is the project's own under pytest and unittest.
    """
    directory = tempfile.mkdtemp(prefix="trialnet-benchmarks-")
    test.addCleanup(shutil.rmtree, directory, True)
    return directory


class BenchmarkSmokeTests(SynchronousTestCase):
    """
    C{python -m benchmarks.run} works with tiny numbers.
    """

    def test_everyVariantReported(self) -> None:
        """
        Each variant runs, passes, and gets a row; the concurrency table has
        a row per connection count and a growth exponent per variant; the
        memory table compares trialnet with the hand-written teardown.
        """
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            run.main(
                [
                    "--tests",
                    "3",
                    "--repeat",
                    "1",
                    "--connections",
                    "5,10",
                    "--rss-tests",
                    "4",
                    "--no-settle",
                ]
            )
        lines = output.getvalue().splitlines()

        # carly's row is there where the bench extra installed carly.
        variants = [
            name
            for name in run.VARIANTS
            if name != run.CARLY or run.carlyMissing() is None
        ]
        rows = lines[2 : 2 + len(variants)]
        self.assertEqual([row[:32].strip() for row in rows], variants)
        self.assertTrue(lines[2 + len(variants)].startswith("trialnet / asyncio"))
        if run.carlyMissing() is None:
            self.assertTrue(lines[3 + len(variants)].startswith("trialnet / carly: "))
        text = output.getvalue()
        for count in ("5", "10"):
            row = next(line for line in lines if line.startswith(f"{count:>6} "))
            # The ratio, then its spread over the rounds: with one round,
            # its lowest and highest are the ratio itself.
            fields = row.split()
            ratio, spread = fields[1:3]
            self.assertEqual(spread, f"{ratio}-{ratio}")
            floorRatio, floorSpread = fields[6:8]
            self.assertEqual(floorSpread, f"{floorRatio}-{floorRatio}")
        for name in run.CONCURRENCY:
            self.assertIn(f"growth exponent 5->10, {name}:", text)
        self.assertIn("(h) Peak RSS of 4 tests", text)


class CarlyRowTests(SynchronousTestCase):
    """
    carly's row of C{python -m benchmarks.run} needs the C{bench} extra.
    """

    def test_skippedWithoutCarly(self) -> None:
        """
        Where carly is not installed, its suite is not run and the report
        says why in place of the ratio to carly.
        """
        commands: list[tuple[str, ...]] = []

        def fakeProcess(arguments: tuple[str, ...], tests: int) -> run.Run:
            commands.append(arguments)
            return run.Run(1.0 + len(commands), 1024, "PASSED")

        self.patch(run, "runProcess", fakeProcess)
        self.patch(run, "carlyMissing", lambda: "carly is not installed")
        runs = run.perTestCosts(2, 1)
        self.assertNotIn(run.CARLY, runs)
        self.assertNotIn(run.VARIANTS[run.CARLY].command, commands)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            run.report(2, 1, runs, [], {}, 2, run.peakMemory(2, 1))
        self.assertIn("carly is not installed", output.getvalue())
        self.assertNotIn(run.CARLY, output.getvalue())

    def test_missing(self) -> None:
        """
        L{run.carlyMissing} names the extra that installs carly when it is
        missing, and is C{None} when it can be imported.
        """
        found = importlib.util.find_spec("carly")
        message = run.carlyMissing()
        if found is None:
            self.assertIsNotNone(message)
            assert message is not None
            self.assertIn(".[bench]", message)
        else:
            self.assertIsNone(message)


class RoundSpreadTests(SynchronousTestCase):
    """
    L{run.roundSpread} compares two variants round by round.
    """

    def test_perRound(self) -> None:
        """
        Each ratio is of the same round's times; the spread is the lowest
        and the highest of them, not the ratio of the extremes.
        """
        self.assertEqual(run.roundSpread([2.0, 6.0, 3.0], [2.0, 4.0, 1.0]), "1.00-3.00")

    def test_nothingToCompare(self) -> None:
        """
        Rounds whose baseline took no time give no ratio.
        """
        self.assertEqual(run.roundSpread([1.0], [0.0]), "-")


class PerTestBenchmarkTests(SynchronousTestCase):
    """
    C{python -m benchmarks.pertest} runs every variant under pyperf, and its
    report reads pyperf's results.
    """

    def test_everyVariantRunAndReported(self) -> None:
        """
        With one process of one value of two loops a variant, the JSON file
        has one benchmark per variant, each with its value, and the report
        after the run, which gives a ratio to every variant but the empty
        test, is the one C{--report} prints from the file.
        """
        path = os.path.join(privateDirectory(self), "pertest.json")
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.pertest",
                "--no-settle",
                "--quiet",
                "--processes",
                "1",
                "--values",
                "1",
                "--warmups",
                "0",
                "--loops",
                "2",
                "-o",
                path,
            ],
            cwd=run.PROJECT,
            env=dict(
                os.environ,
                PYTHONPATH=os.pathsep.join(
                    [run.PROJECT, os.environ.get("PYTHONPATH", "")]
                ),
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(completed.returncode, 0, completed.stderr)

        suite = pyperf.BenchmarkSuite.load(path)
        self.assertEqual(suite.get_benchmark_names(), list(pertest.VARIANTS))
        for benchmark in suite.get_benchmarks():
            self.assertEqual(benchmark.get_nvalue(), 1)
            self.assertEqual(benchmark.get_loops(), 2)

        printed = completed.stdout.splitlines()
        table = printed[printed.index("") + 1 :]
        labels = [label for _, label in pertest.VARIANTS.values()]
        self.assertEqual([row[:34].strip() for row in table[2:]], labels)
        for row in table[3:]:
            float(row[34:41])
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            pertest.report(suite)
        self.assertEqual(output.getvalue().splitlines(), table)

    def test_ratios(self) -> None:
        """
        A variant's cost is its mean less the empty test's, and its ratio is
        that cost over the hand-written test's, with a standard error from
        the three means.
        """
        means = {
            pertest.EMPTY: 1.0,
            pertest.BASELINE: 3.0,
            "trialnet": 4.0,
            "floor": 3.0,
            "hand-written-localhost": 5.0,
        }

        def benchmark(name: str, mean: float) -> pyperf.Benchmark:
            values = [mean - 0.5, mean + 0.5]
            metadata = {"name": name, "loops": 1, "unit": "second"}
            run = pyperf.Run(values, warmups=[], metadata=metadata)
            return pyperf.Benchmark([run])

        suite = pyperf.BenchmarkSuite(
            [benchmark(name, mean) for name, mean in means.items()]
        )
        found = pertest.rows(suite)
        self.assertIsNone(found[pertest.EMPTY].ratio)
        self.assertEqual(found[pertest.BASELINE].ratio, 1.0)
        self.assertEqual(found[pertest.BASELINE].error, 0.0)
        self.assertEqual(found["trialnet"].cost, 3.0)
        self.assertEqual(found["trialnet"].ratio, 1.5)
        self.assertEqual(found["hand-written-localhost"].ratio, 2.0)
        # Each mean's squared standard error is 0.5 / 2; the ratio's
        # variance is (1 + 1.5 ** 2 + 0.5 ** 2) * 0.25 / 2 ** 2.
        error = found["trialnet"].error
        assert error is not None
        self.assertAlmostEqual(error, math.sqrt(3.5 * 0.25 / 4))


#: Stands in for valgrind: runs the command after cachegrind's three options
#: and reports, as cachegrind does on stderr, 1000 instructions plus 100 a
#: test.
FAKE_VALGRIND = """#!/bin/sh
shift 3
"$@" || exit 1
echo "==1== I   refs:      $((1000 + 100 * TRIALNET_BENCH_TESTS))" >&2
"""


class InstructionsBenchmarkTests(SynchronousTestCase):
    """
    C{python -m benchmarks.instructions} counts each suite's instructions
    per test under valgrind, and reports them as ratios.
    """

    def fakeValgrind(self) -> None:
        """
        Make L{instructions.valgrind} find L{FAKE_VALGRIND}.
        """
        path = os.path.join(privateDirectory(self), "valgrind")
        with open(path, "w") as f:
            f.write(FAKE_VALGRIND)
        os.chmod(path, 0o755)
        self.patch(instructions, "valgrind", lambda: path)

    def test_perTest(self) -> None:
        """
        A suite's count per test is the difference between a run of a few
        tests and one of more, over the extra tests: the start-up both share
        is left out.  The suite really runs, and passes.
        """
        self.fakeValgrind()
        self.assertEqual(instructions.count("EmptyTests", 3).perTest, 100.0)

    def test_compiledFirst(self) -> None:
        """
        Before the two counted runs, the suite runs once outside valgrind,
        so that compiling what it imports is not counted; every run hashes
        strings alike.
        """
        self.fakeValgrind()
        commands: list[tuple[list[str], str | None]] = []
        realRun = subprocess.run

        def recordingRun(command: list[str], **kwargs: Any) -> Any:
            commands.append((command, kwargs["env"].get("PYTHONHASHSEED")))
            return realRun(command, **kwargs)

        self.patch(subprocess, "run", recordingRun)
        instructions.count("EmptyTests", 2)
        self.assertEqual(len(commands), 3)
        self.assertEqual(commands[0][0][0], sys.executable)
        self.assertTrue(commands[1][0][0].endswith("valgrind"))
        self.assertTrue(commands[2][0][0].endswith("valgrind"))
        self.assertEqual({seed for _, seed in commands}, {"0"})

    def test_failingSuite(self) -> None:
        """
        A suite that does not pass raises C{RuntimeError} with its output.
        """
        self.fakeValgrind()
        with self.assertRaises(RuntimeError) as raised:
            instructions.instructions("NoSuchSuite", 1)
        self.assertIn("NoSuchSuite", str(raised.exception))

    def test_noValgrind(self) -> None:
        """
        Without valgrind, it says so.
        """
        self.patch(instructions, "valgrind", lambda: None)
        with self.assertRaises(RuntimeError) as raised:
            instructions.instructions("EmptyTests", 1)
        self.assertIn("needs valgrind", str(raised.exception))

    def test_report(self) -> None:
        """
        Each variant's cost is its count less the empty test's, and its
        ratio is that cost over the hand-written test's.
        """
        counts = {
            instructions.EMPTY: instructions.Count(1000.0),
            instructions.BASELINE: instructions.Count(3000.0),
            "floor: trialnet's work by hand": instructions.Count(3000.0),
            "trialnet": instructions.Count(4000.0),
        }
        lines = instructions.report(counts)
        rows = {line[:34].strip(): line[34:].split() for line in lines[2:]}
        self.assertEqual(rows[instructions.EMPTY], ["-", "-", "1"])
        self.assertEqual(rows[instructions.BASELINE], ["1.00", "2", "3"])
        self.assertEqual(rows["trialnet"], ["1.50", "3", "4"])

    def test_rounds(self) -> None:
        """
        Over several rounds, each variant's count is its median, and its
        spread the lowest and highest of the rounds' own ratios.
        """

        def makeRound(trialnet: float) -> dict[str, instructions.Count]:
            return {
                instructions.EMPTY: instructions.Count(1000.0),
                instructions.BASELINE: instructions.Count(3000.0),
                "trialnet": instructions.Count(trialnet),
            }

        medians, spreads = instructions.medianOfRounds(
            [makeRound(4000.0), makeRound(3400.0), makeRound(4400.0)]
        )
        self.assertEqual(medians["trialnet"], instructions.Count(4000.0))
        self.assertEqual(spreads["trialnet"], "1.20-1.70")
        lines = instructions.report(medians, spreads)
        rows = {line[:34].strip(): line[34:].split() for line in lines[2:]}
        self.assertEqual(rows["trialnet"], ["1.50", "3", "4", "1.20-1.70"])


class TimeBenchmarkTests(SynchronousTestCase):
    """
    C{python -m benchmarks.virtualtime} runs the time examples and reports them.
    """

    def test_virtualOnly(self) -> None:
        """
        With C{--virtual-only}, each example runs in virtual time, passes,
        and gets a row, with no real-time column.
        """
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            virtualtime.main(["--repeat", "1", "--virtual-only"])
        lines = output.getvalue().splitlines()
        rows = lines[2:]
        self.assertEqual([row.split()[0] for row in rows], list(virtualtime.EXAMPLES))
        for row in rows:
            self.assertEqual(row.split()[1], "-")

    def test_report(self) -> None:
        """
        The ratio is the real time over the virtual time.
        """
        lines = virtualtime.report({"IdleTests": (0.5, 50.0)})
        self.assertEqual(lines[2].split(), ["IdleTests", "50.00", "0.50", "100"])
