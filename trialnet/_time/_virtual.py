# -*- test-case-name: tests.time.test_virtualTime -*-
"""
One test's virtual time: the reactor's clock made virtual when the test's
run (or a network) starts, its jumps stopped when the teardown begins, the
timers the test left pending stopped and named when the teardown ends, and
the clock real again after that.  The clock belongs to the reactor: while it
is virtual, only networks that asked for virtual time may be open on it.
"""

from __future__ import annotations

import weakref
from typing import Any

from twisted.internet.defer import Deferred

from .._core._owners import closeOwner
from .._core._report import Leftover, Origin, TeardownError, userOrigin
from ._clock import BUDGET, STALL, VirtualClock, _timers, isReal

#: The clock of each reactor whose time is virtual, by the reactor's id.
_clocks: dict[int, tuple[VirtualClock, list[VirtualTime]]] = {}

#: What a report says of a virtual timer left pending.
TIMER_LEFT_VIRTUAL = "left pending by the code under test when the test ended"


def checkVirtualTime(value: object, what: str = "virtualTime") -> bool:
    """
    @raise TypeError: When C{value} is not a C{bool}.
    """
    if not isinstance(value, bool):
        raise TypeError(
            f"{what} must be True or False (a bool), not {type(value).__name__} "
            f"{value!r}"
        )
    return value


def virtualClockOf(reactor: Any) -> VirtualClock | None:
    """
    The virtual clock of C{reactor}, while its time is virtual.
    """
    entry = _clocks.get(id(reactor))
    if entry is None or entry[0].reactor is not reactor:
        return None
    return entry[0]


def refuseRealWhileVirtual(reactor: Any) -> None:
    """
    A network asking for real time opens on C{reactor}.

    @raise ValueError: If the reactor's time is virtual for another network.
    """
    # Asked for every test: when no reactor's time is virtual, no lookup.
    if _clocks and virtualClockOf(reactor) is not None:
        raise ValueError(
            "the reactor's clock is virtual for another open network: networks "
            "open together on one reactor must agree on virtualTime"
        )


class VirtualTime:
    """
    The virtual time of one test (or one network).

    @ivar clock: The reactor's virtual clock, shared by every network open
        on it in virtual time.
    """

    def __init__(
        self,
        reactor: Any,
        budget: float = BUDGET,
        stall: float = STALL,
        owner: object = None,
    ) -> None:
        """
        @param budget: Virtual seconds the clock may jump in all (for the
            first network to make it virtual).
        @param stall: Real seconds after the last I/O during which what the
            process cannot see into counts as busy.
        @param owner: The network it belongs to, if any: dropped unclosed,
            it turns the clock real as it is freed (as it stops observing),
            rather than leave the reactor virtual for every later test.
        @raise ValueError: If the reactor cannot be made virtual.
        """
        self._reactor = reactor
        key = id(reactor)
        entry = _clocks.get(key)
        if entry is None or entry[0].reactor is not reactor:
            clock = VirtualClock(reactor, stall=stall, budget=budget)
            clock.install()
            entry = _clocks[key] = (clock, [])
            _recordOrigins(reactor, clock, clock.origins)
        self.clock = entry[0]
        self._origins = self.clock.origins
        entry[1].append(self)
        self._before = set(_timers(reactor))
        self._owner = None if owner is None else weakref.ref(owner, self._dropped)
        self._duringTest: list[Any] | None = None
        self._ended = False
        #: Once the teardown ended: C{None} if the clock is real, else a
        #: L{Deferred} that fires once it is.
        self.turningReal: Deferred[None] | None = None

    def teardownBegins(self) -> None:
        """
        The teardown begins: the clock stops jumping, and the timers pending
        now that the test made are the ones it may leave.
        """
        if self._duringTest is not None:
            return
        self.clock.stopJumping()
        before = self._before
        self._before = set()
        self._duringTest = [
            call
            for call in _timers(self._reactor)
            if call not in before and not isReal(call)
        ]

    def teardownEnded(self) -> list[Leftover]:
        """
        The teardown ended: stop every timer the test made and left pending
        (through its owner where trialnet knows it), and turn the clock real
        again once no other network is virtual on the reactor.

        @return: The stopped timers, each named with the line that scheduled
            it and how far in the virtual future it was, for strict cleanup.
        """
        if self._ended:
            return []
        self.teardownBegins()
        self._ended = True
        left = [call for call in self._duringTest or () if call.active()]
        self._duringTest = None
        now = self.clock.seconds()
        leftovers = []
        for call in left:
            leftovers.append(self._describe(call, now))
            try:
                closeOwner(call)
            except Exception:
                if call.active():
                    call.cancel()
        self.release()
        return leftovers

    def _describe(self, call: Any, now: float) -> Leftover:
        function = call.func
        origin = self._origins.get(id(call))
        if origin is None:
            code = getattr(function, "__code__", None)
            origin = Origin(
                getattr(code, "co_filename", "?"), getattr(code, "co_firstlineno", 0)
            )
        kind = str(getattr(function, "__qualname__", repr(function)))
        return Leftover(
            role="timer",
            origin=origin,
            action=f"{TIMER_LEFT_VIRTUAL} (due in {call.getTime() - now:g} "
            "virtual seconds)",
            kind=kind,
            leftOpen=True,
        )

    def _dropped(self, reference: object) -> None:
        self.release()
        if self.turningReal is not None:
            # Nobody waits for it: the clock turns real after the timers.
            self.turningReal.addErrback(lambda _: None)

    def release(self) -> None:
        """
        This network's virtual time is over: the clock turns real again once
        no other network is virtual on the reactor.
        """
        key = id(self._reactor)
        entry = _clocks.get(key)
        self._ended = True
        if entry is None or self not in entry[1]:
            return
        entry[1].remove(self)
        if entry[1]:
            return
        del _clocks[key]
        self.turningReal = entry[0].realAgain()


def _recordOrigins(
    reactor: Any, clock: VirtualClock, origins: dict[int, Origin]
) -> None:
    """
    Keep the line that scheduled each timer while the clock is virtual, for
    the report of timers left; the wrapper goes with the clock's other
    patches when it turns real.
    """
    callLater = reactor.callLater

    def scheduled(delay: float, *args: Any, **kwargs: Any) -> Any:
        call = callLater(delay, *args, **kwargs)
        # Reading the stack costs more than the rest of callLater: only for
        # a timer that could be left (a next turn's is not; the runner's
        # and trialnet's own bounds never are).
        if delay and not isReal(call):
            if len(origins) > 256:
                # Keep only the pending: a long test schedules many that ran.
                pending = {id(timer) for timer in _timers(reactor)}
                for key in [key for key in origins if key not in pending]:
                    del origins[key]
            origins[id(call)] = userOrigin()
        return call

    clock.patch("callLater", scheduled)


def timersLeftError(
    leftovers: list[Leftover], strict: bool, asked: bool, now: object
) -> Exception | None:
    """
    The error that ends a virtual test's teardown, if any.

    @param leftovers: The timers the test left pending.
    @param strict: Whether the test asked for strict cleanup.
    @param asked: Whether the test asked for virtual time when its run
        started.
    @param now: What it asks for now.
    """
    if now is not asked:
        return ValueError(
            f"virtualTime is read once, when the test's run starts (before "
            f"setUp): it was {asked!r} then and is {now!r} now; set it on the "
            f"class"
        )
    if strict and leftovers:
        return TeardownError(leftovers)
    return None


def afterReal(virtual: VirtualTime, outcome: object) -> object:
    """
    C{outcome}, once the clock of C{virtual}, whose teardown ended, is real.
    """
    turning = virtual.turningReal
    if turning is None:
        return outcome
    return turning.addCallback(lambda _: outcome)
