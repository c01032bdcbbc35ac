"""
A smoke run of the benchmark harness: it runs and prints every variant.
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

        rows = lines[2 : 2 + len(run.VARIANTS)]
        self.assertEqual([row[:32].strip() for row in rows], list(run.VARIANTS))
        self.assertTrue(lines[2 + len(run.VARIANTS)].startswith("trialnet / asyncio"))
        text = output.getvalue()
        for count in ("5", "10"):
            self.assertIn(f"\n{count:>6} ", text)
        for name in run.CONCURRENCY:
            self.assertIn(f"growth exponent 5->10, {name}:", text)
        self.assertIn("(h) Peak RSS of 4 tests", text)
