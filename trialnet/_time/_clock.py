# -*- test-case-name: tests.time.test_clock,tests.time.test_virtualTime -*-
"""
The virtual clock of one reactor: its C{seconds()} is the real time plus an
offset, which jumps to the next timer's deadline whenever nothing can happen
without time passing, so that everything built on the reactor's timers
(C{deferLater}, C{addTimeout}, C{LoopingCall}, C{TimeoutMixin}, a link's
latency) sees time pass at once, while bytes still cross the loopback.

The test runner's timers and trialnet's own bounds stay real: each jump
moves them by as much, so that their real deadline is unchanged.  Turning
real again moves every pending timer back by the offset, so that each keeps
the delay it had left, never from inside the reactor's timer loop (which
holds the time it read as a local).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from functools import partial
from heapq import heapify
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python import log

from .._core._defaults import VIRTUAL_TIME_BUDGET, VIRTUAL_TIME_STALL
from .._core._patch import InstancePatch
from .._core._report import Origin
from ._busy import busy

#: The modules whose timers stay real: the test runners' (trial's timeout
#: of each step, pytest-twisted's) and trialnet's own bounds (the waits',
#: the teardown's, the thread check's; a server child's start bound and
#: last-words grace, the processes' stop and poll timers: hang detectors,
#: whose other side is a process that runs on real time).  A link's
#: conditions are virtual.
REAL_MODULES = (
    "twisted.trial.",
    "pytest_twisted",
    "trialnet._waits.",
    "trialnet._core.",
    "trialnet._time.",
    "trialnet._processes.",
)

#: Polls with a zero timeout that must dispatch nothing before a jump.
IDLE_POLLS = 2

#: Real seconds with no I/O before a jump: the margin this machine's
#: loopback needs between a write and the peer's readable event (see
#: docs/time.rst for the measurement).
QUIET = 0.002

#: Real seconds to wait at most, while something is busy, before looking
#: again.
BUSY_STEP = 0.005

#: Real seconds after the last I/O during which what the process cannot see
#: into counts as busy (see L{trialnet._time._busy}).
STALL = VIRTUAL_TIME_STALL

#: Virtual seconds a test may jump in all before it fails as runaway time.
BUDGET = VIRTUAL_TIME_BUDGET

#: Real seconds a test may spend at one virtual instant, with timers due
#: and no I/O, before the livelock is named.
LIVELOCK = 3.0

#: Virtual seconds a jump must move the clock by to count as time passing.
TINY = 1e-6


class RunawayTimeError(Exception):
    """
    A test under virtual time would have jumped further than its budget of
    virtual seconds: the jumps stopped, and the test fails with the pending
    timers named (under trial at once: its own timeout is brought forward).
    """


class LivelockWarning(UserWarning):
    """
    A test under virtual time spent real seconds with timers always due and
    no I/O (a timer rescheduling itself at, or just after, its own deadline,
    or work done in many small timer steps): virtual time cannot help it, and
    it runs as in real time.  The warning names the pending timers.
    """


def isReal(call: Any) -> bool:
    """
    Whether a timer must keep its real deadline: the test runner's or one of
    trialnet's bounds, inside any partial, bound method or decorator.
    """
    function = getattr(call, "func", None)
    while isinstance(function, partial):
        function = function.func
    module = getattr(function, "__module__", None)
    return isinstance(module, str) and (module + ".").startswith(REAL_MODULES)


def _timers(reactor: Any) -> list[Any]:
    """
    The reactor's pending timers, in its own lists (those not yet sorted
    into its heap included).
    """
    pending = getattr(reactor, "_pendingTimedCalls", [])
    new = getattr(reactor, "_newTimedCalls", [])
    return [call for call in pending + new if not call.cancelled and not call.called]


class VirtualClock:
    """
    A reactor's clock while a test runs in virtual time.

    @ivar offset: Virtual seconds ahead of the real clock.
    @ivar jumped: Virtual seconds jumped in all.
    @ivar jumping: Whether the clock jumps when idle; from the teardown's
        start it runs at real speed.
    @ivar events: How many I/O events the reactor dispatched.
    @ivar runaway: Why the jumps stopped early, if they did.
    """

    def __init__(
        self,
        reactor: Any,
        stall: float = STALL,
        budget: float = BUDGET,
        quiet: float = QUIET,
    ) -> None:
        self.reactor = reactor
        self.offset = 0.0
        self.jumped = 0.0
        self.jumping = True
        self.events = 0
        self.runaway: str | None = None
        self.stall = stall
        self.budget = budget
        self.quiet = quiet
        self._realSeconds: Callable[[], float] = reactor.seconds
        self._idlePolls = 0
        self._idleTarget = 0.0
        self._lastIO = time.monotonic()
        self._inTimers = 0
        self._backWanted = False
        self._installed = False
        self._patches: list[InstancePatch] = []
        self._reactorPatch = InstancePatch(reactor)
        self._realWaiters: list[Deferred[None]] = []
        #: The line that scheduled each timer while the clock is virtual, by
        #: the timer's id.
        self.origins: dict[int, Origin] = {}
        self._spinSince: float | None = None
        self._warned = False

    # The clock

    def seconds(self) -> float:
        """
        The reactor's time: the real time plus the offset.
        """
        return self._realSeconds() + self.offset

    def install(self) -> None:
        """
        Make the reactor's clock this one, and its waits jump.

        @raise ValueError: If the reactor is neither Twisted's asyncio
            reactor nor one of its own polling reactors.
        """
        reactor = self.reactor
        loop = getattr(reactor, "_asyncioEventloop", None)
        selector = getattr(loop, "_selector", None)
        patch = self._reactorPatch
        if selector is not None and hasattr(selector, "__dict__"):
            selectorPatch = InstancePatch(selector)
            selectorPatch.set("select", partial(self._select, selector.select))
            self._patches.append(selectorPatch)
        elif callable(getattr(reactor, "doIteration", None)) and callable(
            getattr(reactor, "_doReadOrWrite", None)
        ):
            patch.set("doIteration", partial(self._doIteration, reactor.doIteration))
            patch.set("_doReadOrWrite", partial(self._dispatch, reactor._doReadOrWrite))
        else:
            raise ValueError(
                "virtualTime needs Twisted's epoll, poll, select or asyncio "
                f"reactor, not {type(reactor).__name__}"
            )
        patch.set("runUntilCurrent", partial(self._runTimers, reactor.runUntilCurrent))
        patch.set("seconds", self.seconds)
        self._patches.append(patch)
        self._installed = True

    def patch(self, name: str, value: object) -> None:
        """
        Set C{name} on the reactor's instance until the clock turns real.
        """
        self._reactorPatch.set(name, value)

    def stopJumping(self) -> None:
        """
        The teardown begins: from now on the clock runs at real speed from
        where it is.
        """
        self.jumping = False

    def realAgain(self) -> Deferred[None] | None:
        """
        Turn the reactor's clock real again, moving every pending timer back
        by the offset so that each keeps the delay it had left; if the
        reactor is running its timers now, as soon as it has run them (its
        loop holds the time it read, and asyncio's reactor sorts its new
        timers into its heap at every C{callLater}).

        @return: C{None} if the clock is real now, else a L{Deferred} that
            fires once it is.
        """
        self.jumping = False
        if not self._installed:
            return None
        if self._inTimers:
            self._backWanted = True
            waiting: Deferred[None] = Deferred()
            self._realWaiters.append(waiting)
            return waiting
        self._uninstall()
        return None

    def _uninstall(self) -> None:
        self._installed = False
        patches, self._patches = self._patches, []
        for patch in patches:
            patch.restoreAll()
        offset, self.offset = self.offset, 0.0
        reactor = self.reactor
        if offset:
            for call in _timers(reactor):
                call.time -= offset
            heapify(reactor._pendingTimedCalls)
        self._rescheduled()
        waiters, self._realWaiters = self._realWaiters, []
        for waiting in waiters:
            waiting.callback(None)

    def _rescheduled(self) -> None:
        # asyncio's reactor waits on one asyncio timer, at the real time it
        # computed from the reactor's first deadline.
        reschedule = getattr(self.reactor, "_reschedule", None)
        if reschedule is not None:
            reschedule()

    # The reactor's loop, wrapped

    def _runTimers(self, runUntilCurrent: Callable[[], None]) -> None:
        self._inTimers += 1
        try:
            runUntilCurrent()
        finally:
            self._inTimers -= 1
            if self._backWanted and not self._inTimers:
                self._backWanted = False
                self._uninstall()

    def _dispatch(self, doReadOrWrite: Callable[..., Any], *args: Any) -> Any:
        # Whatever the iteration waited: the next jump waits for its polls
        # and quiet time again, from this event on.
        self.events += 1
        self._sawIO()
        return doReadOrWrite(*args)

    def _doIteration(
        self, doIteration: Callable[[float | None], None], delay: Any
    ) -> None:
        if not delay or not self.jumping:
            if delay == 0:
                self._spinning()
            doIteration(delay)
            return
        wait = self._nextWait(delay)
        if wait is not None:
            doIteration(wait)
            return
        events = self.events
        doIteration(0)
        if self.events == events:
            self._jump(self._idleTarget)

    def _select(
        self, select: Callable[[Any], list[Any]], timeout: Any = None
    ) -> list[Any]:
        if timeout == 0 or not self.jumping:
            if timeout == 0:
                self._spinning()
            events = select(timeout)
        elif timeout is None:
            # asyncio has no timer of its own: the reactor has none either.
            events = select(None)
        else:
            wait = self._nextWait(timeout)
            events = select(0 if wait is None else wait)
            if wait is None and not events:
                self._jump(self._idleTarget)
        if events:
            self.events += len(events)
            self._sawIO()
        return events

    def _sawIO(self) -> None:
        self._idlePolls = 0
        self._lastIO = time.monotonic()
        self._spinSince = None

    def _nextWait(self, delay: float) -> float | None:
        """
        How long the reactor may wait for I/O now, in real seconds; or
        C{None} when nothing is busy, and the clock may jump to
        C{self._idleTarget} if one last poll with a zero timeout dispatches
        nothing.  That poll comes after the look at what is busy, which came
        after the polls before it: bytes the kernel delivered in between
        (acknowledged, so no longer busy to it, but not yet seen readable)
        or a thread's call queued in between (the waker is readable) would
        otherwise lose their race to the jump.
        """
        target = self._nextVirtual()
        if target is None:
            # Only real timers are pending (trial's timeout, say): nothing
            # to jump to, so wait for them, or for I/O, as in real time.
            self._spinSince = None
            return delay
        if self._idlePolls < IDLE_POLLS:
            self._idlePolls += 1
            return 0.0
        quiet = time.monotonic() - self._lastIO
        # The reactor waits: it does not spin.
        self._spinSince = None
        if quiet < self.quiet:
            return min(delay, self.quiet - quiet)
        if busy(self.reactor, quiet, self.stall) is not None:
            return min(delay, BUSY_STEP)
        self._idleTarget = target
        return None

    def _nextVirtual(self) -> float | None:
        """
        The deadline of the first pending timer that is not real.
        """
        # Shaped for speed (every turn of the reactor in virtual time asks,
        # and the reactor's lists hold up to 50 cancelled timers until
        # Twisted sweeps them out): _timers() and min() written out as one
        # loop, with no list made.
        reactor = self.reactor
        first = None
        for calls in (
            getattr(reactor, "_pendingTimedCalls", ()),
            getattr(reactor, "_newTimedCalls", ()),
        ):
            for call in calls:
                if call.cancelled or call.called or isReal(call):
                    continue
                deadline = call.getTime()
                if first is None or deadline < first:
                    first = deadline
        return first

    def _jump(self, target: float) -> None:
        self._idlePolls = 0
        by = target - self.seconds()
        if by <= TINY:
            # A timer rescheduled at its own deadline, give or take a
            # rounding: time does not move.
            self._spinning()
        if by <= 0:
            return
        if self.jumped + by > self.budget:
            self._runaway(
                f"virtual time ran away: the next jump, of {by:g} s, would take "
                f"the test past its budget of {self.budget:g} virtual seconds"
            )
            return
        self.offset += by
        self.jumped += by
        if by > TINY:
            self._spinSince = None
        reactor = self.reactor
        moved = False
        for call in _timers(reactor):
            if isReal(call):
                call.time += by
                moved = True
        if moved:
            heapify(reactor._pendingTimedCalls)
        self._rescheduled()
        waiters, self._realWaiters = self._realWaiters, []
        for waiting in waiters:
            waiting.callback(None)

    def _spinning(self) -> None:
        """
        The reactor runs its timers without waiting and without I/O: name a
        livelock after L{LIVELOCK} real seconds of it (a timer rescheduling
        itself at its own deadline), rather than spin until the runner's
        timeout.
        """
        if not self.jumping:
            return
        now = time.monotonic()
        if self._spinSince is None:
            self._spinSince = now
        elif now - self._spinSince > LIVELOCK and not self._warned:
            # Named, not failed: a loop of small steps doing real work (a
            # cooperator's, say) looks the same, and passes in real time.
            self._warned = True
            why = (
                f"{now - self._spinSince:.1f} real seconds with timers always "
                "due and no I/O: virtual time cannot jump, so this runs as in "
                "real time (a timer rescheduling itself at its own deadline?)"
            )
            pending = self.pendingDescription()
            if pending:
                why += "; pending virtual timers:\n" + pending
            warnings.warn(why, LivelockWarning, stacklevel=2)

    def _runaway(self, why: str) -> None:
        self.runaway = why
        self.jumping = False
        pending = self.pendingDescription()
        if pending:
            why += "; pending virtual timers:\n" + pending
        # Logged: trial fails the test with it, naming what ran away; the
        # network's teardown fails with it too (the pytest fixture).
        log.err(RunawayTimeError(why), "trialnet: virtual time stopped jumping")
        self._failTheWaits(why)
        self._endTheRunnersWait()

    def _failTheWaits(self, why: str) -> None:
        """
        Fail with L{RunawayTimeError} each C{deferLater} past the budget,
        which would otherwise keep its waiter waiting at real speed (under
        pytest-twisted, which has no timeout of its own, for ever).
        """
        limit = self.seconds() + self.budget - self.jumped
        for call in _timers(self.reactor):
            if call.cancelled:
                # Listed twice (the asyncio reactor's lists), failed already.
                continue
            function = call.func
            waiting = getattr(function, "__self__", None)
            if (
                isinstance(waiting, Deferred)
                and getattr(function, "__name__", None) == "callback"
                and call.getTime() > limit
                and not isReal(call)
            ):
                call.cancel()
                waiting.errback(RunawayTimeError(why))

    def _endTheRunnersWait(self) -> None:
        """
        Bring trial's own timeout of the running step forward to now: at
        real speed, the timer past the budget would keep the test waiting
        until then.
        """
        reactor = self.reactor
        now = self.seconds()
        moved = False
        for call in _timers(reactor):
            function = call.func
            if getattr(function, "__name__", None) == "onTimeout" and getattr(
                function, "__module__", ""
            ).startswith("twisted.trial."):
                call.time = now
                moved = True
        if moved:
            heapify(reactor._pendingTimedCalls)
            self._rescheduled()

    def pendingDescription(self) -> str:
        """
        The pending timers that are not real, for a runaway report.
        """
        now = self.seconds()
        origins = self.origins
        lines = [
            f"  {getattr(call.func, '__qualname__', repr(call.func))}, due in "
            f"{call.getTime() - now:g} virtual s, scheduled at "
            f"{origins.get(id(call), '?')}"
            for call in _timers(self.reactor)
            if not isReal(call)
        ]
        return "\n".join(lines[:20])
