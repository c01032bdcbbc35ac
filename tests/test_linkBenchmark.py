"""
A smoke run of the link benchmark: it runs, and reports both ratios.
"""

# ruff: noqa: N999

from __future__ import annotations

import contextlib
import io

from twisted.trial.unittest import SynchronousTestCase

from benchmarks import links, run


class LinkBenchmarkSmokeTests(SynchronousTestCase):
    """
    C{python -m benchmarks.links} works with tiny numbers.
    """

    def test_ratiosReported(self) -> None:
        """
        The per-test cost and the throughput of a link are each reported
        with their ratio to a direct connection.
        """
        self.patch(run, "_settling", False)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            links.main(["--tests", "3", "--repeat", "1", "--megabytes", "1"])
        text = output.getvalue()
        self.assertEqual(text.count("link / direct: "), 2, text)
        self.assertIn("a link adds", text)
        self.assertIn("MB/s", text)
