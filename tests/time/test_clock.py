"""
The virtual clock of a reactor, step by step: which timers stay real, a
jump, and turning real again with every pending timer keeping the delay it
had left, never inside the reactor's timer loop.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from trialnet._time._clock import IDLE_POLLS, VirtualClock, isReal


def theReactor() -> Any:
    from twisted.internet import reactor

    return reactor


def userTimer() -> None:
    """
    A timer of the code under test.
    """


def runnerTimer() -> None:
    """
    A timer of the test runner's (its module is made trial's below).
    """


runnerTimer.__module__ = "twisted.trial._asynctest"


class IsRealTests(SynchronousTestCase):
    """
    Which timers keep their real deadline.
    """

    def test_runnersAndBoundsAreReal(self) -> None:
        """
        trial's timers and trialnet's bounds are real; the code under
        test's, and a link's, are virtual.
        """
        reactor = theReactor()
        calls = [
            reactor.callLater(10, runnerTimer),
            reactor.callLater(10, userTimer),
        ]
        try:
            self.assertEqual([isReal(call) for call in calls], [True, False])
        finally:
            for call in calls:
                call.cancel()


class VirtualClockTests(SynchronousTestCase):
    """
    L{VirtualClock} on the global reactor, driven by hand (the reactor is
    not running).
    """

    def setUp(self) -> None:
        self.reactor = theReactor()
        self.clock = VirtualClock(self.reactor)
        self.clock.install()
        self.addCleanup(self.clock.realAgain)

    def remaining(self, call: Any) -> float:
        return float(call.getTime() - self.reactor.seconds())

    def test_jumpMovesOnlyVirtualTimers(self) -> None:
        """
        A jump to a timer's deadline makes it due, and moves a real timer by
        as much, so that its real deadline is unchanged.
        """
        user = self.reactor.callLater(3600, userTimer)
        runner = self.reactor.callLater(30, runnerTimer)
        self.addCleanup(user.cancel)
        self.addCleanup(runner.cancel)
        self.clock._jump(user.getTime())
        self.assertLessEqual(self.remaining(user), 0)
        self.assertAlmostEqual(self.remaining(runner), 30, places=0)
        self.assertGreaterEqual(self.clock.jumped, 3599)

    def test_realAgainKeepsRemainingDelays(self) -> None:
        """
        Turning real again moves every pending timer back by the offset:
        each keeps the delay it had left, and the reactor reads the real
        time.
        """
        user = self.reactor.callLater(3600, userTimer)
        later = self.reactor.callLater(7200, userTimer)
        self.addCleanup(user.cancel)
        self.addCleanup(later.cancel)
        self.clock._jump(user.getTime())
        self.assertIsNone(self.clock.realAgain())
        self.assertAlmostEqual(self.remaining(later), 3600, places=0)
        self.assertNotIn("seconds", vars(self.reactor))
        import time

        self.assertLess(abs(self.reactor.seconds() - time.time()), 1)

    def test_notInsideTheTimerLoop(self) -> None:
        """
        Asked to turn real while the reactor runs its timers, the clock
        waits until they ran (the loop holds the time it read), then turns
        real and fires the L{Deferred} it returned.
        """
        call = self.reactor.callLater(3600, userTimer)
        self.addCleanup(call.cancel)
        self.clock._jump(call.getTime() + 60)
        waiting: list[object] = []

        def insideTheLoop() -> None:
            waiting.append(self.clock.realAgain())
            waiting.append("seconds" in vars(self.reactor))

        self.clock._runTimers(insideTheLoop)
        turning, stillVirtual = waiting
        self.assertTrue(stillVirtual)
        fired: list[object] = []
        assert turning is not None
        turning.addCallback(fired.append)  # type: ignore[attr-defined]
        self.assertEqual(fired, [None])
        self.assertNotIn("seconds", vars(self.reactor))


class LastPollTests(SynchronousTestCase):
    """
    The last poll before a jump: what became readable between the polls and
    the look at what is busy (bytes the kernel delivered and acknowledged
    meanwhile, no longer busy to it) keeps the clock from jumping.
    """

    def setUp(self) -> None:
        self.reactor = theReactor()
        self.clock = VirtualClock(self.reactor)
        self.clock.install()
        self.addCleanup(self.clock.realAgain)
        call = self.reactor.callLater(3600, userTimer)
        self.addCleanup(call.cancel)
        # The idle polls done and the stall allowance long past: only the
        # last poll stands between the clock and its jump.
        self.clock._idlePolls = IDLE_POLLS
        self.clock._lastIO = time.monotonic() - 10 * self.clock.stall
        self.polls: list[object] = []

    def poll(self, ready: list[str]) -> Any:
        """
        A reactor's poll, which dispatches C{ready}'s events.
        """

        def doIteration(timeout: object) -> None:
            self.polls.append(timeout)
            for _ in ready:
                self.clock._dispatch(lambda: None)

        return doIteration

    def test_eventAtTheLastPoll(self) -> None:
        """
        An event dispatched by the poll after the look at what is busy
        keeps the clock where it is.
        """
        self.clock._doIteration(self.poll(["readable"]), 3600)
        self.assertEqual((self.polls, self.clock.jumped), ([0], 0))

    def test_nothingAtTheLastPoll(self) -> None:
        """
        When that poll dispatches nothing, the clock jumps.
        """
        self.clock._doIteration(self.poll([]), 3600)
        self.assertEqual(self.polls, [0])
        self.assertGreater(self.clock.jumped, 3599)

    def test_selectorEventAtTheLastPoll(self) -> None:
        """
        On asyncio's reactor, the selector's last poll returns its events
        to the loop and the clock stays where it is; with none, it jumps.
        """

        def select(timeout: object) -> list[str]:
            self.polls.append(timeout)
            return ["readable"] if len(self.polls) == 1 else []

        self.assertEqual(self.clock._select(select, 3600), ["readable"])
        self.assertEqual(self.clock.jumped, 0)
        self.clock._idlePolls = IDLE_POLLS
        self.clock._lastIO = time.monotonic() - 10 * self.clock.stall
        self.assertEqual(self.clock._select(select, 3600), [])
        self.assertEqual(self.polls, [0, 0])
        self.assertGreater(self.clock.jumped, 3599)


class UnsupportedReactorTests(SynchronousTestCase):
    """
    A reactor virtual time cannot drive.
    """

    def test_clockRefused(self) -> None:
        """
        A L{Clock} (already a fake clock, with no loop) is refused with a
        C{ValueError} naming the reactors that work.
        """
        with self.assertRaises(ValueError) as raised:
            VirtualClock(Clock()).install()
        self.assertIn("epoll, poll, select or asyncio", str(raised.exception))
