"""
Processes under the pytest fixture: the same teardown as under trial, on
both of pytest-twisted's reactors.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from ..sockets.test_observedFixture import runPytest
from .programs import gone

LEFT_PROCESSES = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "pytest_samples", "left_processes.py"
)


class FixtureTests(SynchronousTestCase):
    """
    The C{network} fixture stops the processes its test left.
    """

    def test_stoppedAndKilled(self) -> None:
        """
        A child left running is stopped and the test passes; one that
        ignores SIGTERM is killed within the fixture's C{processTimeout} and
        fails the test's teardown naming it; neither is left running.
        """
        for reactor in ("default", "asyncio"):
            outcomes, pids, output = runPytest(reactor, samples=LEFT_PROCESSES)
            self.assertEqual(outcomes.get("test_stopped"), ["passed"], output)
            killed = " ".join(outcomes.get("test_killed", []))
            self.assertIn("error: failed on teardown", killed, output)
            self.assertIn("killed by SIGKILL", output)
            self.assertEqual(
                outcomes.get("test_processTimeoutOption"), ["passed"], output
            )
            self.assertEqual(len(pids), 2, output)
            for pid in pids:
                self.assertTrue(gone(pid), pid)
