# -*- test-case-name: tests.test_network -*-
"""
L{Network}: one test's ports and connections and their teardown, for any
test runner.  Its API is documented once, on L{INetwork<trialnet.INetwork>},
and typed, with its bodies, on L{NetworkAPI<trialnet._front.NetworkAPI>}.
"""

from __future__ import annotations

import weakref
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python import log
from twisted.python.failure import Failure
from zope.interface import implementer

from ._core._defaults import (
    DISCONNECT_TIMEOUT,
    PROCESS_TIMEOUT,
    VIRTUAL_TIME_BUDGET,
    VIRTUAL_TIME_STALL,
)
from ._core._phases import Phase
from ._core._seconds import checkSeconds
from ._core._threads import Threads, checkThreads
from ._front import NetworkAPI, NetworkParts
from ._interfaces import INetwork
from ._sockets._observe import observe, observing, stopObserving
from ._time._clock import RunawayTimeError
from ._time._virtual import (
    VirtualTime,
    afterReal,
    checkVirtualTime,
    refuseRealWhileVirtual,
    timersLeftError,
    virtualClockOf,
)
from ._waits._failfast import stopWatching

_T = TypeVar("_T")


@implementer(INetwork)
class Network(NetworkAPI):
    """
    One test's listening ports and connections, and their teardown; see
    L{INetwork<trialnet.INetwork>} for each method.

    L{trialnet.NetworkTestCase} makes one per test; use it directly from a
    fixture of another test runner.  From its making until it is closed, it
    observes the reactor and takes what the code under test opens there, so
    close every network you make.  One dropped unclosed stops observing as
    it is freed, and leaves open whatever it had open.
    """

    #: Whether it observes the reactor by itself, from its making until its
    #: teardown ends (a test's network is handed what its run observes).
    _observesItself = True

    #: Whether its own teardown ends by naming the threads started since its
    #: making (a test's run does it for the test's networks, after
    #: C{tearDown}).
    _checksThreads = True

    #: Whether it makes the reactor's clock virtual itself, when asked (a
    #: test's network leaves that to its run).
    _ownsTime = True

    # Class defaults, stored on the instance only when they differ: a
    # test's network is made for every test.
    waitTimeout: float | None = None
    _virtual: VirtualTime | None = None
    _threads: Threads | None = None

    def __init__(
        self,
        reactor: Any = None,
        disconnectTimeout: float = DISCONNECT_TIMEOUT,
        waitTimeout: float | None = None,
        strictCleanup: bool = False,
        failFast: bool = True,
        virtualTime: bool = False,
        virtualTimeBudget: float = VIRTUAL_TIME_BUDGET,
        virtualTimeStall: float = VIRTUAL_TIME_STALL,
        processTimeout: float = PROCESS_TIMEOUT,
    ) -> None:
        """
        @param reactor: The reactor to listen and connect with, and to
            observe; the global reactor by default.
        @param disconnectTimeout: Seconds allowed for an orderly close before
            the teardown aborts what is left.
        @param waitTimeout: The default bound, in seconds, of the waits of
            every L{trialnet.Recorder} it connects or accepts (unless the
            recorder sets its own); C{None} for the recorder's default.
        @param strictCleanup: Whether what the code under test left open
            when the teardown began fails the teardown (see
            L{INetwork.strictCleanup<trialnet.INetwork.strictCleanup>}).
        @param failFast: Whether a logged error fails pending waits at once
            (see L{INetwork.failFast<trialnet.INetwork.failFast>}).
        @param virtualTime: Whether the reactor's clock is virtual from its
            making until its teardown begins, jumping to the next timer
            whenever nothing else can happen (see
            L{INetwork.virtualTime<trialnet.INetwork.virtualTime>}).
        @param virtualTimeBudget: Virtual seconds the clock may jump in all
            before the test fails as runaway time.
        @param virtualTimeStall: Real seconds after the last I/O during which
            what trialnet cannot see into (a child process, a peer in another
            process) keeps the virtual clock from jumping.
        @param processTimeout: Seconds the processes started during the test
            have to end after SIGTERM, once the connections closed, before
            the teardown sends SIGQUIT, then SIGKILL (see
            L{INetwork.processTimeout<trialnet.INetwork.processTimeout>}).
        @raise TypeError: If C{disconnectTimeout} or C{processTimeout} is not
            a number, or C{virtualTime} not a C{bool}.
        @raise ValueError: If either is not positive and finite; or if another
            network open on the reactor asked for the other mode of time.
        """
        # Shaped for speed (a test's network is made for every test): the
        # defaults, which nearly every test keeps, are known good.
        timeout = (
            DISCONNECT_TIMEOUT
            if disconnectTimeout is DISCONNECT_TIMEOUT
            else checkSeconds(disconnectTimeout, "disconnectTimeout")
        )
        stopping = (
            PROCESS_TIMEOUT
            if processTimeout is PROCESS_TIMEOUT
            else checkSeconds(processTimeout, "processTimeout")
        )
        virtual = False
        if self._ownsTime:
            # A test's network is given none of these: its run checked the
            # test's own and keeps its time (one check a test, not two).
            virtual = checkVirtualTime(virtualTime)
            budget = checkSeconds(virtualTimeBudget, "virtualTimeBudget")
            stall = checkSeconds(virtualTimeStall, "virtualTimeStall", zero=True)
        if reactor is None:
            from twisted.internet import reactor as globalReactor  # noqa: N812

            reactor = globalReactor
        if waitTimeout is not None:
            # A test's network never is given one (its bound is a share of
            # the test's timeout), and never calls its setter here.
            self.waitTimeout = checkSeconds(waitTimeout, "waitTimeout")
        self.failFast = bool(failFast)
        self._reactor: Any = reactor
        self._virtualAsked = virtual
        if self._ownsTime:
            if not virtual:
                refuseRealWhileVirtual(reactor)
            elif observing(reactor) and virtualClockOf(reactor) is None:
                raise ValueError(
                    "virtualTime: another network is open on the reactor in "
                    "real time; networks open together on one reactor must agree"
                )
            else:
                self._virtual = VirtualTime(reactor, budget, stall, owner=self)
        self._own = NetworkParts(
            reactor, weakref.ref(self), timeout, bool(strictCleanup), stopping
        )
        if self._checksThreads:
            self._threads = Threads()
        if self._observesItself:
            observe(reactor, self._own)

    @property
    def disconnectTimeout(self) -> float:
        return self._own.teardown.disconnectTimeout

    @disconnectTimeout.setter
    def disconnectTimeout(self, seconds: float) -> None:
        seconds = checkSeconds(seconds, "disconnectTimeout")
        self._own.teardown.disconnectTimeout = seconds

    @property
    def virtualTime(self) -> bool:
        """
        Whether it made the reactor's clock virtual (read-only: the clock is
        made virtual when the network is made).
        """
        return self._virtualAsked

    @property
    def processTimeout(self) -> float:
        return self._own.teardown.processTimeout

    @processTimeout.setter
    def processTimeout(self, seconds: float) -> None:
        seconds = checkSeconds(seconds, "processTimeout")
        self._own.teardown.processTimeout = seconds

    @property
    def strictCleanup(self) -> bool:
        return self._own.teardown.strict

    @strictCleanup.setter
    def strictCleanup(self, strict: bool) -> None:
        self._own.teardown.strict = bool(strict)

    def _parts(self) -> NetworkParts:
        return self._own

    def close(self) -> Deferred[None]:
        """
        The whole teardown: stop every port, stop every connection attempt,
        close every connection end, and wait for all of it.

        After C{disconnectTimeout} seconds, what has not closed is aborted;
        a moment later, what still has not is closed by force.  Either way
        every socket is released and the network forgets every protocol,
        transport and factory.

        @return: A new L{Deferred<twisted.internet.defer.Deferred>} on each
            call, firing with C{None} when all closed in an orderly way, or
            failing with L{trialnet.TeardownError} naming each leftover.
        """
        teardown = self._own.teardown
        first = teardown.phase is Phase.OPEN
        if first and self._virtual is not None:
            self._virtual.teardownBegins()
        result = teardown.close()
        if first:
            result.addBoth(self._closed)
        return result

    def _stopObserving(self) -> None:
        """
        Stop observing what the code under test opens on the reactor; the
        teardown does so when it ends, and a test case when its run ends,
        whether or not its teardown could finish.
        """
        if self._observesItself:
            stopObserving(self._reactor, self._own)
        stopWatching(self)

    def _closed(self, result: _T) -> Any:
        self._stopObserving()
        threads, self._threads = self._threads, None
        if threads is None:
            return self._endTime(result)
        checking = checkThreads(threads, self._reactor, self.strictCleanup)
        if checking is None:
            return self._endTime(result)
        return checking.addBoth(_afterThreads, result).addBoth(self._endTime)

    def _endTime(self, result: _T) -> Any:
        """
        Last: stop the timers left pending in virtual time (named under
        strict cleanup), and turn the clock real again.
        """
        virtual, self._virtual = self._virtual, None
        if virtual is None:
            return result
        runaway = virtual.clock.runaway
        leftovers = virtual.teardownEnded()
        error = timersLeftError(leftovers, self.strictCleanup, True, True)
        if error is None and runaway is not None:
            # Under trial the logged error fails the test already; the pytest
            # fixture's runner does not look at the log.
            error = RunawayTimeError(runaway)
        outcome: object = result
        if error is not None:
            if isinstance(result, Failure):
                log.err(result)
            outcome = Failure(error)
        return afterReal(virtual, outcome)


def _afterThreads(checked: object, result: _T) -> _T | Failure:
    """
    The teardown's outcome once the threads were checked; when both failed,
    the threads' failure is the outcome and the teardown's is logged.
    """
    if isinstance(checked, Failure):
        if isinstance(result, Failure):
            log.err(result)
        return checked
    return result
