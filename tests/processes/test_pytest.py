"""
C{spawnServer()} under pytest, through trialnet's C{network} fixture.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from ..sockets.test_observedFixture import runPytest

#: The samples.
SAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "pytest_samples",
    "server_process.py",
)


_outcomes: list[tuple[dict[str, list[str]], list[int], str]] = []


def outcomes() -> tuple[dict[str, list[str]], list[int], str]:
    """
    The samples' outcomes, run once for all the tests that check them.
    """
    if not _outcomes:
        _outcomes.append(runPytest("default", samples=SAMPLES))
    return _outcomes[0]


class FixtureTests(SynchronousTestCase):
    """
    The fixture's network spawns servers and reports their crashes.
    """

    def test_outcomes(self) -> None:
        """
        A test against a child passes; a child that ends during the test
        fails it at its teardown with its output.
        """
        results, _, output = outcomes()
        self.assertEqual(results["test_activated"], ["passed"], output)
        (died,) = [
            kind
            for kind in results["test_diedDuringTest"]
            if kind.startswith(("error:", "failure:", "skipped:"))
        ]
        self.assertIn("error: failed on teardown", died)
        self.assertIn("exited with status 4 during the test", output)
        self.assertIn("the database went away", output)

    def test_strictCleanup(self) -> None:
        """
        Under strict cleanup, a child the code under test started is named
        as left running, and the test's own server child is not.
        """
        results, _, output = outcomes()
        strict = " ".join(results["test_strictNamesOnlyTheCodes"])
        self.assertIn("error: failed on teardown", strict, output)
        self.assertIn("left running by the code under test", output)
        self.assertIn("a plain child", output)
        self.assertNotIn("children.py silent", output)
