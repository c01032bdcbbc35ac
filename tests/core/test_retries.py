"""
Tests for L{trialnet._core._retries.TimerCapture} and
L{trialnet._core._retries.retriesOf}:
which timers a network's teardown takes as the code under test's retries, on
a reactor that lists its new timers (read, the reactor untouched) and on one
that does not (its C{callLater} wrapped inside scopes while a capture runs).
"""

from __future__ import annotations

import gc
from functools import partial
from typing import Any

from twisted.internet import tcp, udp
from twisted.internet.base import DelayedCall, ReactorBase
from twisted.internet.protocol import DatagramProtocol, Factory
from twisted.internet.task import Clock, deferLater
from twisted.internet.utils import suppressWarnings
from twisted.trial.unittest import SynchronousTestCase, TestCase

from trialnet import Recorder
from trialnet._core import _retries
from trialnet._core._report import Origin
from trialnet._core._retries import Captured, TimerCapture, afterDeliveries, retriesOf


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


def stopped(capture: TimerCapture) -> list[Any]:
    """
    Stop C{capture}, and give the timers it captured that are still pending.
    """
    return [entry.call for entry in capture.stop()]


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
        self.assertEqual(stopped(capture), [mine])

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
        self.assertEqual(stopped(innerCapture), [nested])
        self.assertEqual(stopped(outerCapture), [first, last])

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
        self.assertEqual(stopped(capture), [kept])

    def test_runnersTimers(self: Any) -> None:
        """
        A timer whose function is trial's (its timeout of each step, wrapped
        by C{suppressWarnings}) or trialnet's is never captured, even
        inside the owner's scope.
        """
        reactor = self.makeReactor()
        capture = TimerCapture(reactor, self)
        onTimeout = suppressWarnings(TestCase._run)
        with retriesOf(reactor, self):
            reactor.callLater(1, onTimeout)
            reactor.callLater(1, partial(Recorder().readLine))
            mine = later(reactor)
        self.assertEqual(stopped(capture), [mine])

    def test_socketSteps(self: Any) -> None:
        """
        A timer that is the reactor's own next step of a socket, scheduled
        inside the owner's scope (a TCP port's stop, through C{deferLater};
        a UDP port's, directly), is never captured: cancelled, it would
        leave the socket open.  A retry due as soon is.
        """
        reactor = self.makeReactor()
        capture = TimerCapture(reactor, self)
        tcpPort = tcp.Port(0, Factory(), reactor=reactor)
        udpPort = udp.Port(0, DatagramProtocol(), reactor=reactor)
        with retriesOf(reactor, self):
            deferLater(reactor, 0, tcpPort.connectionLost, None)
            reactor.callLater(0, udpPort.connectionLost)
            retry = reactor.callLater(0, lambda: None)
            deferred = deferLater(reactor, 0, lambda: None)
        calls = stopped(capture)
        # deferLater of the code under test's own function is a retry too.
        self.assertEqual((len(calls), retry in calls), (2, True))
        deferred.addErrback(lambda _: None).cancel()

    def test_originAndWhen(self: Any) -> None:
        """
        A captured timer keeps the origin its scope was given, and whether
        the scope began before the capture's teardown did.
        """
        reactor = self.makeReactor()
        capture = TimerCapture(reactor, self)
        origin = Origin("test.py", 7)
        with retriesOf(reactor, self, origin):
            before = later(reactor)
            capture.closing()
            sameScope = later(reactor)
        with retriesOf(reactor, self, origin):
            after = later(reactor)
        self.assertEqual(
            capture.stop(),
            [
                Captured(before, origin, True),
                Captured(sameScope, origin, True),
                Captured(after, origin, False),
            ],
        )

    def test_afterDeliveries(self: Any) -> None:
        """
        C{afterDeliveries} calls back once the outermost scope ended, after
        what it scheduled was captured; outside any scope it declines.
        """
        reactor = self.makeReactor()
        capture = TimerCapture(reactor, self)
        seen: list[int] = []
        self.assertFalse(afterDeliveries(reactor, lambda: seen.append(0)))
        with retriesOf(reactor, self):
            with retriesOf(reactor, self):
                self.assertTrue(
                    afterDeliveries(
                        reactor, lambda: seen.append(len(capture.pending()))
                    )
                )
            self.assertEqual(seen, [])
            later(reactor)
        self.assertEqual(seen, [1])
        capture.stop()

    def test_droppedOwner(self: Any) -> None:
        """
        A capture whose owner was freed (a network dropped unclosed) is
        stopped at the next scope, and holds nothing.
        """

        class Owner:
            pass

        reactor = self.makeReactor()
        owner = Owner()
        capture = TimerCapture(reactor, owner)
        del owner
        gc.collect()
        with retriesOf(reactor, Owner()):
            later(reactor)
        self.assertEqual(capture.calls, [])
        self.assertNotIn(id(reactor), _retries._captures)

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
        self.assertEqual(stopped(capture), [])


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
        schedules on a L{Clock}) is wrapped inside a scope: what it
        schedules inside the owner's scope is captured, and the patch is
        put back after.
        """
        reactor = ListingReactor()
        clock = Clock()
        vars(reactor)["callLater"] = clock.callLater
        capture = TimerCapture(reactor, self)
        with retriesOf(reactor, self):
            mine = later(reactor)
        self.assertEqual(stopped(capture), [mine])
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
        self.assertEqual(stopped(capture), [])


class WrappedMixin(CaptureMixin):
    """
    The tests for a reactor whose C{callLater} is wrapped inside scopes.
    """

    def test_wrappedOnlyInsideScopes(self: Any) -> None:
        """
        While a capture runs, C{callLater} is wrapped on the instance only
        inside the outermost scope, and put back as it ends; with no
        capture, a scope does not wrap it.
        """
        reactor = self.makeReactor()
        with retriesOf(reactor, self):
            self.assertNotIn("callLater", vars(reactor))
        capture = TimerCapture(reactor, self)
        self.assertNotIn("callLater", vars(reactor))
        with retriesOf(reactor, self):
            with retriesOf(reactor, object()):
                self.assertIn("callLater", vars(reactor))
            self.assertIn("callLater", vars(reactor))
        self.assertNotIn("callLater", vars(reactor))
        capture.stop()


class FlushingReactorTests(WrappedMixin, SynchronousTestCase):
    """
    On a reactor whose C{callLater} is not C{ReactorBase}'s and takes its
    new timers out at once, C{callLater} is wrapped inside scopes.
    """

    def makeReactor(self) -> FlushingReactor:
        return FlushingReactor()


class ClockTests(WrappedMixin, SynchronousTestCase):
    """
    On a reactor without a list of new timers (a L{Clock}), C{callLater} is
    wrapped inside scopes.
    """

    def makeReactor(self) -> Clock:
        return Clock()
