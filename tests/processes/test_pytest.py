"""
C{spawnServer()} under pytest, through trialnet's C{network} fixture.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from ..test_plugin import runPytest

#: The samples.
SAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "pytest_samples",
    "server_process.py",
)


class FixtureTests(SynchronousTestCase):
    """
    The fixture's network spawns servers and reports their crashes.
    """

    def test_outcomes(self) -> None:
        """
        A test against a child passes; a child that ends during the test
        fails it at its teardown with its output.
        """
        outcomes, _, output = runPytest("default", SAMPLES)
        self.assertEqual(outcomes["test_activated"], ["passed"], output)
        (died,) = [kind for kind in outcomes["test_diedDuringTest"] if kind != "passed"]
        self.assertIn("error: failed on teardown", died)
        self.assertIn("exited with status 4 during the test", output)
        self.assertIn("the database went away", output)
