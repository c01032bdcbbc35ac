"""
Virtual time under pytest-twisted: the C{network} fixture of a test marked
C{virtual_time} runs in virtual time, and the next test sees a real clock.
"""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from ..sockets.test_observedFixture import ROOT, runPytest

SAMPLES = os.path.join(ROOT, "tests", "pytest_samples", "virtual_time.py")


class VirtualTimeFixtureMixin:
    """
    The fixture's virtual time, for one reactor.
    """

    reactor = ""

    def test_samples(self) -> None:
        """
        Marked tests jump an hour at once with bytes crossing the loopback
        and a thread beating a virtual timeout; the next test, unmarked,
        reads a real clock; a marker whose argument is not a bool fails
        the test with a TypeError.
        """
        assert isinstance(self, SynchronousTestCase)
        outcomes, _, output = runPytest(self.reactor, samples=SAMPLES)
        for name in ("test_anHour", "test_thread", "test_realAfterwards"):
            self.assertEqual(outcomes.get(name), ["passed"], output)
        bad = outcomes.get("test_badMarker", [""])
        self.assertIn("TypeError", "".join(bad), output)


class DefaultReactorTests(VirtualTimeFixtureMixin, SynchronousTestCase):
    """
    Under pytest-twisted's default reactor.
    """

    reactor = "default"


class AsyncioReactorTests(VirtualTimeFixtureMixin, SynchronousTestCase):
    """
    Under pytest-twisted's asyncio reactor.
    """

    reactor = "asyncio"
