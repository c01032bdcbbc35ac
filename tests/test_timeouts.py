"""
trialnet's bound and trial's own timeout: the teardown always ends inside
the test's timeout, with its report, whatever the test did.
"""

from __future__ import annotations

import time

from twisted.internet.defer import Deferred, TimeoutError
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase, TeardownError

from .helpers import (
    Events,
    LoggingFactory,
    Stuck,
    errorTypes,
    lostCounts,
    openFiles,
    openPair,
    recorders,
    sample,
    teardownError,
    warmUp,
)


class TimeoutTests(SynchronousTestCase):
    """
    Tests whose trial C{timeout} is short, or that time out.
    """

    def test_shorterThanDisconnectTimeout(self) -> None:
        """
        When the test's C{timeout} is shorter than C{disconnectTimeout}, the
        teardown shortens its bound to fit: stuck ends are aborted and
        reported once, trial reports no timeout, and nothing stays open.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Stuck)
        clientFactory = LoggingFactory(events, "client", Stuck)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)

        warmUp()
        before = openFiles()
        started = time.monotonic()
        result = sample(body, timeout=2.0, disconnectTimeout=30.0)
        elapsed = time.monotonic() - started

        self.assertEqual(errorTypes(result), [TeardownError])
        self.assertEqual(len(teardownError(result).leftovers), 2)
        self.assertLess(elapsed, 2.0)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(openFiles() - before, set())

    def test_testTimesOut(self) -> None:
        """
        A test that trial times out while its connections are open is
        reported as timed out, and the teardown still closes both ends.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)
            await Deferred()

        warmUp()
        before = openFiles()
        result = sample(body, timeout=0.5)

        self.assertEqual(errorTypes(result), [TimeoutError])
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(openFiles() - before, set())
