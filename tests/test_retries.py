"""
Tests for L{trialnet._retries.TimerCapture} and L{trialnet._retries.retriesOf}:
which timers a network's teardown takes as the retries it provoked, on a
reactor that lists its new timers (read, the reactor untouched) and on one
that does not (its C{callLater} wrapped while a capture runs).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.base import DelayedCall, ReactorBase
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from trialnet._retries import TimerCapture, retriesOf


class ListingReactor:
    """
    A reactor with Twisted's C{ReactorBase.callLater}, which keeps the
    timers scheduled since its last turn in C{_newTimedCalls}.
    """

    callLater = ReactorBase.callLater

    def __init__(self) -> None:
        self._newTimedCalls: list[DelayedCall] = []

    def seconds(self) -> float:
        return 0.0

    def _cancelCallLater(self, call: DelayedCall) -> None:
        pass

    def _moveCallLaterSooner(self, call: DelayedCall) -> None:
        pass

    def turn(self) -> None:
        """
        Take the new timers, as a reactor's turn does.
        """
        self._newTimedCalls = []


class FlushingReactor(ListingReactor):
    """
    A reactor that takes its new timers out of C{_newTimedCalls} as soon
    as they are scheduled, as asyncio's reactor does to compute its next
    wake-up.
    """

    def callLater(  # type: ignore[override]
        self, delay: float, f: Any, *args: Any, **kw: Any
    ) -> DelayedCall:
        call = ReactorBase.callLater(self, delay, f, *args, **kw)  # type: ignore[arg-type]
        self.turn()
        return call


def later(reactor: Any) -> DelayedCall:
    return reactor.callLater(1, lambda: None)  # type: ignore[no-any-return]


class CaptureMixin:
    """
    The tests, for any reactor L{makeReactor} makes.
    """

    def makeReactor(self) -> Any:
        raise NotImplementedError()

    def test_insideTheOwnersScope(self: Any) -> None:
        """
        A timer scheduled inside C{retriesOf} for the capture's owner is
        captured; one scheduled outside any scope, or inside another owner's
        scope, is not.
        """
        reactor = self.makeReactor()
        owner, other = object(), object()
        capture = TimerCapture(reactor, owner)
        later(reactor)
        with retriesOf(reactor, owner):
            mine = later(reactor)
        with retriesOf(reactor, other):
            later(reactor)
        self.assertEqual(capture.stop(), [mine])

    def test_nested(self: Any) -> None:
        """
        A timer scheduled inside a scope nested in another owner's scope is
        the inner owner's; the outer owner gets only its own.
        """
        reactor = self.makeReactor()
        outer, inner = object(), object()
        outerCapture = TimerCapture(reactor, outer)
        innerCapture = TimerCapture(reactor, inner)
        with retriesOf(reactor, outer):
            first = later(reactor)
            with retriesOf(reactor, inner):
                nested = later(reactor)
            last = later(reactor)
        self.assertEqual(innerCapture.stop(), [nested])
        self.assertEqual(outerCapture.stop(), [first, last])

    def test_onlyPending(self: Any) -> None:
        """
        A captured timer that was cancelled, or that ran, is not returned.
        """
        reactor = self.makeReactor()
        owner = object()
        capture = TimerCapture(reactor, owner)
        with retriesOf(reactor, owner):
            cancelled = later(reactor)
            kept = later(reactor)
        cancelled.cancel()
        self.assertEqual(capture.stop(), [kept])

    def test_noCapture(self: Any) -> None:
        """
        With no capture running, a scope captures nothing, and a capture
        made later does not take what was scheduled before it.
        """
        reactor = self.makeReactor()
        owner = object()
        with retriesOf(reactor, owner):
            later(reactor)
        capture = TimerCapture(reactor, owner)
        self.assertEqual(capture.stop(), [])


class ListingReactorTests(CaptureMixin, SynchronousTestCase):
    """
    On a reactor that lists its new timers, the reactor is left untouched.
    """

    def makeReactor(self) -> ListingReactor:
        return ListingReactor()

    def test_untouched(self) -> None:
        """
        Capturing sets no attribute on the reactor.
        """
        reactor = ListingReactor()
        before = dict(vars(reactor))
        capture = TimerCapture(reactor, self)
        with retriesOf(reactor, self):
            self.assertEqual(vars(reactor), before)
        capture.stop()
        self.assertEqual(vars(reactor), before)

    def test_callLaterPatchedOnTheInstance(self) -> None:
        """
        A C{callLater} patched on the reactor instance (here, one that
        schedules on a L{Clock}) is wrapped while a capture runs: what it
        schedules inside the owner's scope is captured, and the patch is
        put back after.
        """
        reactor = ListingReactor()
        clock = Clock()
        vars(reactor)["callLater"] = clock.callLater
        capture = TimerCapture(reactor, self)
        with retriesOf(reactor, self):
            mine = later(reactor)
        self.assertEqual(capture.stop(), [mine])
        self.assertEqual(clock.getDelayedCalls(), [mine])
        self.assertEqual(vars(reactor)["callLater"], clock.callLater)

    def test_turnInsideTheScope(self) -> None:
        """
        When the reactor takes its new timers inside the scope (a turn),
        what was scheduled before the turn cannot be told apart any more: the
        scope captures nothing rather than something of someone else's.
        """
        reactor = ListingReactor()
        capture = TimerCapture(reactor, self)
        with retriesOf(reactor, self):
            later(reactor)
            reactor.turn()
            later(reactor)
        self.assertEqual(capture.stop(), [])


class FlushingReactorTests(CaptureMixin, SynchronousTestCase):
    """
    On a reactor whose C{callLater} is not C{ReactorBase}'s and takes its
    new timers out at once, C{callLater} is wrapped while a capture runs,
    and put back after.
    """

    def makeReactor(self) -> FlushingReactor:
        return FlushingReactor()

    def test_restored(self) -> None:
        """
        The wrapper is set while a capture runs, and removed after.
        """
        reactor = FlushingReactor()
        capture = TimerCapture(reactor, self)
        self.assertIn("callLater", vars(reactor))
        capture.stop()
        self.assertNotIn("callLater", vars(reactor))


class ClockTests(CaptureMixin, SynchronousTestCase):
    """
    On a reactor without a list of new timers (a L{Clock}), C{callLater} is
    wrapped while a capture runs, and put back after.
    """

    def makeReactor(self) -> Clock:
        return Clock()

    def test_restored(self) -> None:
        """
        The wrapper is set while a capture runs, and the last capture to
        stop removes it.
        """
        clock = Clock()
        first = TimerCapture(clock, self)
        second = TimerCapture(clock, object())
        self.assertIn("callLater", vars(clock))
        first.stop()
        self.assertIn("callLater", vars(clock))
        second.stop()
        self.assertNotIn("callLater", vars(clock))
