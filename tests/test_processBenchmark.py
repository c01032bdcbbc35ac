"""
A smoke run of the process benchmark: it runs, and reports the ratio.
"""

# ruff: noqa: N999

from __future__ import annotations

import contextlib
import io

from twisted.trial.unittest import SynchronousTestCase

from benchmarks import processes, run


class ProcessBenchmarkSmokeTests(SynchronousTestCase):
    """
    C{python -m benchmarks.processes} works with tiny numbers.
    """

    def test_ratioReported(self) -> None:
        """
        The per-test cost of C{spawnServer()} and of the hand-written test
        are reported, with their ratio.
        """
        self.patch(run, "_settling", False)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            processes.main(["--tests", "1", "--repeat", "1"])
        text = output.getvalue()
        self.assertIn("spawnServer / by hand: ", text)
        self.assertIn("by hand", text)
