"""
A smoke run of the benchmark harness: it runs and prints every suite.
"""

from __future__ import annotations

import contextlib
import io

from twisted.trial.unittest import SynchronousTestCase

from benchmarks import run


class BenchmarkSmokeTests(SynchronousTestCase):
    """
    C{python -m benchmarks.run} works with tiny numbers.
    """

    def test_everySuiteReported(self) -> None:
        """
        Each suite runs, passes, and gets a row with its cost.
        """
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            run.main(["--tests", "3", "--repeat", "1"])
        rows = output.getvalue().splitlines()[2:]
        self.assertEqual([row[:28].strip() for row in rows], list(run.SUITES))
