"""
Timers a virtual test leaves pending when its teardown ends are stopped
(through their owner where trialnet knows it): the test passes, nothing is
left for trial's janitor, and strict cleanup names each with the line that
scheduled it and how far in the virtual future it was.  Runaway time fails
the test at once, naming the pending timers; a livelock is named by a
warning.
"""

# ruff: noqa: N999

from __future__ import annotations

import time
import warnings
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import SynchronousTestCase

from trialnet import LivelockWarning, Network, NetworkTestCase, RunawayTimeError
from trialnet._time import _clock

from ..helpers import assertPassed, errorTypes, sample, teardownError


def theReactor() -> Any:
    from twisted.internet import reactor

    return reactor


def markedLine(marker: str) -> int:
    """
    The number of the line of this file after C{# schedules next: marker}.
    """
    with open(__file__.replace(".pyc", ".py")) as source:
        for number, text in enumerate(source, 1):
            if text.strip() == f"# schedules next: {marker}":
                return number + 1
    raise LookupError(marker)


def neverCalled() -> None:
    raise AssertionError("a timer left by a virtual test ran")


async def leaveTimer(case: NetworkTestCase) -> None:
    reactor = theReactor()
    await deferLater(reactor, 10, lambda: None)
    # schedules next: left
    reactor.callLater(3600, neverCalled)


class TimersLeftTests(SynchronousTestCase):
    """
    The rule for a timer left pending, under virtual time.
    """

    def test_cancelledQuietly(self) -> None:
        """
        By default the timer is cancelled and the test passes: trial's
        janitor finds nothing pending.
        """
        assertPassed(self, sample(leaveTimer, virtualTime=True))
        self.assertEqual(
            [
                call
                for call in theReactor().getDelayedCalls()
                if call.func is neverCalled
            ],
            [],
        )

    def test_namedUnderStrictCleanup(self) -> None:
        """
        Under strict cleanup the test fails, naming the timer with the line
        that scheduled it and how far in the virtual future it was.
        """
        result = sample(leaveTimer, virtualTime=True, strictCleanup=True)
        text = str(teardownError(result))
        self.assertIn(f"{__file__.replace('.pyc', '.py')}:{markedLine('left')}", text)
        self.assertIn("neverCalled", text)
        self.assertRegex(text, r"due in 3\d\d\d(\.\d+)? virtual seconds")

    def test_runawayBudget(self) -> None:
        """
        A jump past the test's budget of virtual seconds stops the jumps and
        fails the test at once (trial's own timeout, minutes away, is brought
        forward) with L{RunawayTimeError} naming the pending timer.
        """

        async def body(case: NetworkTestCase) -> None:
            reactor = theReactor()
            await deferLater(reactor, 50, lambda: None)
            # schedules next: runaway
            await deferLater(reactor, 10_000, neverCalled)

        started = time.monotonic()
        result = sample(body, virtualTime=True, virtualTimeBudget=100.0, timeout=300)
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn(RunawayTimeError, errorTypes(result))
        text = "\n".join(str(failure.value) for _, failure in result.errors)  # type: ignore[union-attr]
        self.assertIn("due in 10000 virtual s", text)
        self.assertIn(f"test_timersLeft.py:{markedLine('runaway')}", text)

    def test_runawayOtherTimer(self) -> None:
        """
        A runaway test waiting on a timer that is not a C{deferLater} (here
        an C{addTimeout}) still ends at once: trial's own timeout, minutes
        away, is brought forward.
        """

        async def body(case: NetworkTestCase) -> None:
            await Deferred().addTimeout(10_000, theReactor())

        started = time.monotonic()
        result = sample(body, virtualTime=True, virtualTimeBudget=100.0, timeout=300)
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn(RunawayTimeError, errorTypes(result))

    def test_livelock(self) -> None:
        """
        A timer that reschedules itself at its own deadline, with no I/O,
        keeps timers always due, so virtual time cannot jump: after a few
        real seconds (here shortened) a L{LivelockWarning} names it, and the
        test goes on as in real time (a loop of small steps doing real work
        looks the same, and passes).
        """
        self.patch(_clock, "LIVELOCK", 0.2)

        async def body(case: NetworkTestCase) -> None:
            reactor = theReactor()
            spinning = [True]

            def spin() -> None:
                if spinning[0]:
                    reactor.callLater(0, spin)

            spin()
            await deferLater(reactor, 0.5, lambda: None)
            spinning[0] = False

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = sample(body, virtualTime=True)
        assertPassed(self, result)
        (text,) = [
            str(warning.message)
            for warning in caught
            if issubclass(warning.category, LivelockWarning)
        ]
        self.assertIn("timers always due and no I/O", text)


class RunawayNetworkTests(NetworkTestCase):
    """
    A L{Network} in virtual time (as the pytest fixture makes it) whose test
    ran away: the wait past the budget fails at once, and so does closing
    the network, since that runner does not look at the log.
    """

    virtualTime = True
    virtualTimeBudget = 10.0

    async def test_closeFails(self) -> None:
        """
        A C{deferLater} past the budget fails with L{RunawayTimeError} at
        once, and closing the network then fails with it too.
        """
        network = Network(virtualTime=True, virtualTimeBudget=10.0)
        started = time.monotonic()
        waiting = deferLater(theReactor(), 1000, neverCalled)
        await self.assertFailure(waiting, RunawayTimeError)
        self.assertLess(time.monotonic() - started, 10)
        await self.assertFailure(network.close(), RunawayTimeError)
        self.flushLoggedErrors(RunawayTimeError)
