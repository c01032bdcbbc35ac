# -*- test-case-name: tests.core.test_teardown,tests.test_network -*-
"""
The teardown: L{Teardown} runs each phase's action on entering it (the
phases and the rules that move it from one to the next are in
L{trialnet._core._phases}) and owns the timer, the bounds, the outcome and
the waiters.  It treats every record alike (see
L{trialnet._core._record.IRecord}) and guards every call it makes to one:
what a record raises is logged and the rest still runs.  What never waits is
a hook (L{trialnet._core._record.Hook}), run at its stage before the records
of that stage, and again when the teardown forgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from operator import attrgetter
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.python import log
from twisted.python.failure import Failure

from ._defaults import KILL_GRACE, PROCESS_TIMEOUT, QUIT_GRACE
from ._owners import closeOwner
from ._phases import CLOSING_PHASES as _CLOSING_PHASES
from ._phases import NOT_CLOSING as _NOT_CLOSING
from ._phases import STOPPING_PHASES as _STOPPING_PHASES
from ._phases import TRANSITIONS, Event, Phase
from ._record import (
    CLOSE,
    STOP_ACCEPTING,
    STOP_PROCESSES,
    Hook,
    IRecord,
    Record,
    fireAll,
)
from ._report import Leftover, TeardownError
from ._retries import Captured, TimerCapture, afterDeliveries, timerLeftover

#: Record's own finalReport, which reports nothing.
_NO_FINAL_REPORT = Record.finalReport

#: Seconds to wait, after aborting, for the aborted connections to report
#: C{connectionLost} before their sockets are closed by force.  Aborting
#: delivers C{connectionLost} one reactor turn later, so this is generous.
ABORT_GRACE = 1.0

#: How much of a runner's timeout L{Teardown.fitWithin} lets the teardown use.
FIT_SHARE = 0.8

#: A retry timer cancelled at the end of the teardown.
RETRY_CANCELLED = (
    "scheduled while the teardown closed its connections (a client that "
    "reconnects?); cancelled"
)

#: A timer the code under test left pending when the test ended.
TIMER_LEFT = (
    "left pending by the code under test when the test ended (a client "
    "waiting to retry?); stopped with the teardown"
)

#: What the code under test left open, for a network with strict cleanup.
LEFT_OPEN = (
    "left open by the code under test when the test ended; closed by the teardown"
)


# Read once: a member read through its enum class costs a lookup through
# the metaclass's attribute hook (Python 3.11), about ten times a plain
# global's, and these are read at every step of every teardown.
_OPEN = Phase.OPEN
_FORCED = Phase.FORCED
_DONE = Phase.DONE
_ON_CLOSE = Event.CLOSE
_ON_SETTLED = Event.SETTLED
_ON_CLOSED = Event.CLOSED
_ON_BOUND = Event.BOUND
_ON_GRACE = Event.GRACE


class Records(Protocol):
    """
    What the teardown closes: a registry of records.
    """

    def records(self) -> Iterable[IRecord]: ...

    def teardownHooks(self) -> Sequence[Hook]: ...

    def subscribe(self, teardown: Teardown) -> None: ...

    def beginClose(self) -> None: ...

    def forget(self) -> None: ...


def guarded(call: Callable[[], object], what: str, record: object = None) -> object:
    """
    Run one step on one record; what it raises is logged (so the test
    reports it) and the teardown goes on.

    @param what: What the step does, for the log.
    @param record: The record it does it to, described in the log after
        C{what} (only then: describing it takes time every step would pay).
    """
    try:
        return call()
    except Exception:
        _logStep(what, record)
        return None


def _logStep(what: str, record: object) -> None:
    """
    Log the exception being handled, raised by one step of the teardown.
    """
    if record is not None:
        what = f"{what} {_describe(record)}"
    log.err(None, f"trialnet teardown: error while {what}")


class Teardown:
    """
    The teardown of one network.

    @ivar disconnectTimeout: Seconds allowed for an orderly close.
    @ivar processTimeout: Seconds allowed for the processes to end after
        SIGTERM, once everything else settled.
    @ivar quitGrace: Seconds between SIGQUIT and SIGKILL.
    @ivar killGrace: Seconds allowed, after SIGKILL, for the processes to be
        reaped.
    @ivar strict: Whether what the code under test left open is reported.
    @ivar phase: Where the teardown is; read-only outside (a plain attribute,
        not a property: shaped for speed, read at every listen and connect).
    """

    def __init__(
        self,
        reactor: Any,
        records: Records,
        disconnectTimeout: float,
        strict: bool = False,
        processTimeout: float = PROCESS_TIMEOUT,
    ) -> None:
        self.disconnectTimeout = disconnectTimeout
        self.abortGrace = ABORT_GRACE
        self.processTimeout = processTimeout
        self.quitGrace = QUIT_GRACE
        self.killGrace = KILL_GRACE
        self.strict = strict
        self._reactor = reactor
        self._records = records
        self.phase: Phase = _OPEN
        self._events: list[Event] = []
        self._handling = False
        self._timer: IDelayedCall | None = None
        self._startedAt = 0.0
        self._stageStartedAt = 0.0
        self._leftovers: dict[int, Leftover] = {}
        # What has not settled yet, as far as the records told.
        self._pending: dict[int, IRecord] = {}
        # The processes, stopped once everything else settled.
        self._later: list[IRecord] = []
        # From the start: a retry the code under test schedules during the
        # test is as much the teardown's business as one it provokes.
        self._timers: TimerCapture | None = TimerCapture(reactor, records)
        self._waitingForDelivery = False
        self._outcome: Failure | None = None
        self._waiters: list[Deferred[None]] = []
        records.subscribe(self)

    def close(self) -> Deferred[None]:
        """
        Begin the teardown, or join it.

        @return: A new L{Deferred} on each call, firing with C{None} when all
            closed in an orderly way, or failing with L{TeardownError}.
        """
        result: Deferred[None] = Deferred()
        if self.phase is _DONE:
            result.callback(self._outcome)
            return result
        self._waiters.append(result)
        self.handle(_ON_CLOSE)
        return result

    def fitWithin(self, seconds: float) -> None:
        """
        Shorten the bounds, if need be, so that the whole teardown ends well
        within C{seconds}: the connections' bound and grace, and, when the
        test started processes, the processes' bound and graces after them
        (each part shortened in proportion).
        """
        budget = seconds * FIT_SHARE
        stopping = self.processTimeout + self.quitGrace + self.killGrace
        total = stopping + self.disconnectTimeout + self.abortGrace
        if total <= budget:
            # It fits even with processes, as with the defaults and trial's
            # timeout: no need to look for any among the records.
            return
        if any(record.stage == STOP_PROCESSES for record in self._records.records()):
            share = budget / total
            self.processTimeout *= share
            self.quitGrace *= share
            self.killGrace *= share
            budget -= self.processTimeout + self.quitGrace + self.killGrace
        if self.disconnectTimeout + self.abortGrace > budget:
            self.abortGrace = min(self.abortGrace, budget / 4)
            self.disconnectTimeout = budget - self.abortGrace

    def handle(self, event: Event) -> None:
        """
        Move on C{event}.  An event that comes while a phase's action runs
        waits until the action is over: a phase is never left midway.
        """
        self._events.append(event)
        if self._handling:
            return
        self._handling = True
        try:
            while self._events:
                event = self._events.pop(0)
                if event is _ON_SETTLED:
                    if not self._allSettled():
                        continue
                    if self._later and self.phase in _CLOSING_PHASES:
                        event = _ON_CLOSED
                # nextPhase(), written out: it runs at every step.
                phase = TRANSITIONS.get((self.phase, event), self.phase)
                if phase is not self.phase:
                    self.phase = phase
                    _ENTRIES[phase](self)
                    self._checkSettled()
        finally:
            self._handling = False

    # What the records tell, through the registry

    def opened(self, record: IRecord) -> None:
        """
        Something new was opened, or opened again: while closing, close it
        at once (a process, once everything else settled).
        """
        phase = self.phase
        if phase is _OPEN:
            # Shaped for speed: while the test runs (every port, attempt
            # and end it opens tells), there is nothing to do.
            return
        if phase in _CLOSING_PHASES and record.stage == STOP_PROCESSES:
            if record not in self._later:
                self._later.append(record)
            return
        if phase in _CLOSING_PHASES or phase in _STOPPING_PHASES:
            self._pending[id(record)] = record
            guarded(record.close, "closing", record)
            self.settled(record)

    def hooked(self, hook: Hook) -> None:
        """
        A hook was added: while closing, run it at once.
        """
        if self.phase in _CLOSING_PHASES or self.phase in _STOPPING_PHASES:
            guarded(hook.closing, "closing", hook)

    def settled(self, record: IRecord) -> None:
        """
        A record settled.
        """
        if record.settled:
            pending = self._pending
            pending.pop(id(record), None)
            # Shaped for speed (every end of a teardown tells): while
            # something else is pending, _checkSettled() would return at
            # once, so it is called only when nothing is.
            if not pending:
                self._checkSettled()

    # The phases' actions

    def _closeEverything(self) -> None:
        self._startedAt = self._reactor.seconds()
        self._records.beginClose()
        self._timer = self._reactor.callLater(
            self.disconnectTimeout, self.handle, _ON_BOUND
        )
        if self._timers is not None:
            self._timers.closing()
            if self.strict:
                # Described now: an owner closed below cancels its timer,
                # and a cancelled call forgets its function.
                for captured in self._timers.pending():
                    timer = guarded(
                        partial(timerLeftover, captured, TIMER_LEFT),
                        "describing a timer",
                    )
                    if isinstance(timer, Leftover):
                        self._leftovers[id(captured.call)] = timer
        records = sorted(self._records.records(), key=_stage)
        if records and records[-1].stage == STOP_PROCESSES:
            # Stopped once everything else settled.
            later = self._later
            while records and records[-1].stage == STOP_PROCESSES:
                later.insert(0, records.pop())
        hooks = self._records.teardownHooks()
        pending = self._pending
        for record in records:
            if not record.settled:
                pending[id(record)] = record
        if self.strict:
            self._describeLeftOpen(records)
            self._describeLeftOpen(self._later)
        if hooks:
            _runHooks(hooks, STOP_ACCEPTING)
        hooksLeft = bool(hooks)
        for record in records:
            if hooksLeft and record.stage != STOP_ACCEPTING:
                hooksLeft = False
                _runHooks(hooks, CLOSE)
            # guarded(), written out: this loop runs for every record.
            try:
                record.close()
            except Exception:
                _logStep("closing", record)
            if record.settled:
                pending.pop(id(record), None)
        if hooksLeft:
            _runHooks(hooks, CLOSE)

    def _describeLeftOpen(self, records: Iterable[IRecord]) -> None:
        """
        With strict cleanup, describe what the code under test left open
        among C{records}, now: an owner closed later cancels its timer, and
        a cancelled call forgets its function.
        """
        if not self.strict:
            return
        for record in records:
            if record.observed and not record.settled and record.leftOpen:
                leftover = record.leftover(LEFT_OPEN)
                if isinstance(leftover, Leftover):
                    self._keep(record, leftover.asLeftOpen())

    def _abortLeftovers(self) -> None:
        self._abortPending(self._startedAt, self.abortGrace)

    def _abortPending(self, since: float, grace: float) -> None:
        """
        Abort what has not settled, waited for since C{since}; the next
        step comes after C{grace}.
        """
        waited = self._reactor.seconds() - since
        for record in list(self._pending.values()):
            if not record.settled:
                self._keep(
                    record,
                    guarded(partial(record.abort, waited), "aborting", record),
                )
        self._timer = self._reactor.callLater(grace, self.handle, _ON_GRACE)

    def _forceLeftovers(self) -> None:
        self._forcePending()
        # Whatever it did, nothing more is waited for.
        self._pending.clear()

    def _forcePending(self) -> None:
        for record in list(self._pending.values()):
            if not record.settled:
                previous = self._leftovers.get(id(record))
                self._keep(
                    record,
                    guarded(partial(record.force, previous), "forcing", record),
                )

    def _stopProcesses(self) -> None:
        """
        Everything else settled: stop the processes (SIGTERM), within their
        own bound.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._stageStartedAt = self._reactor.seconds()
        later, self._later = self._later, []
        for record in later:
            self._pending[id(record)] = record
            guarded(record.close, "stopping", record)
            if record.settled:
                self._pending.pop(id(record), None)
        self._timer = self._reactor.callLater(
            self.processTimeout, self.handle, _ON_BOUND
        )

    def _quitProcesses(self) -> None:
        # The processes' bound passed: SIGQUIT.
        self._abortPending(self._stageStartedAt, self.quitGrace)

    def _killProcesses(self) -> None:
        # SIGKILL, and a moment more for the reap.
        self._forcePending()
        self._timer = self._reactor.callLater(self.killGrace, self.handle, _ON_GRACE)

    def _finish(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        # guarded(), written out here and below: one call fewer each, and
        # no bound method made, for every teardown.
        try:
            self._cancelRetries()
        except Exception:
            _logStep("cancelling the retries", None)
        for record in self._records.records():
            # Shaped for speed: a record that keeps Record's own
            # finalReport (ends, attempts), which reports nothing, is not
            # called.
            if type(record).finalReport is _NO_FINAL_REPORT:
                continue
            # guarded(), written out: this loop runs for every record.
            try:
                leftover = record.finalReport()
            except Exception:
                _logStep("reporting", None)
            else:
                if leftover is not None:
                    self._keep(record, leftover)
        if self._leftovers:
            # How long it waited: only a report says.
            waited = self._reactor.seconds() - self._startedAt
            self._outcome = Failure(
                TeardownError(list(self._leftovers.values()), waited)
            )
        self._leftovers = {}
        self._pending = {}
        try:
            self._records.forget()
        except Exception:
            _logStep("forgetting what was closed", None)
        fireAll(self._waiters, self._outcome)

    # Inside

    def _cancelRetries(self) -> None:
        """
        Cancel the timers the code under test scheduled while its connections
        were closed, which would call it again after the test.
        """
        timers, self._timers = self._timers, None
        if timers is None:
            return
        for captured in timers.stop():
            guarded(partial(self._stopTimer, captured), "stopping a timer")

    def _stopTimer(self, captured: Captured) -> None:
        # A cancelled call forgets its function: describe it first.
        action = TIMER_LEFT if captured.duringTest else RETRY_CANCELLED
        leftover = timerLeftover(captured, action)
        closeOwner(captured.call)
        if self.strict:
            self._leftovers.setdefault(id(captured.call), leftover)

    def _checkSettled(self) -> None:
        if self._pending or self.phase in _NOT_CLOSING:
            return
        if self._handling and self._events:
            return
        self.handle(_ON_SETTLED)

    def _allSettled(self) -> bool:
        """
        Check every record, not only those that told: one may have opened
        again without telling.
        """
        phase = self.phase
        if phase is _FORCED:
            return True
        if phase in _STOPPING_PHASES:
            # What else was aborted or forced is waited for no more.
            for record in self._records.records():
                if record.stage == STOP_PROCESSES and not record.settled:
                    self._pending[id(record)] = record
            return not self._pending
        for record in self._records.records():
            if not record.settled and record.stage != STOP_PROCESSES:
                self._pending[id(record)] = record
        if self._pending:
            return False
        # Begun from a test resumed inside the code under test's delivery of
        # a lost connection: end once the delivery, and its retries, are over.
        if not self._waitingForDelivery:
            self._waitingForDelivery = afterDeliveries(
                self._reactor, self._deliveryOver
            )
        return not self._waitingForDelivery

    def _deliveryOver(self) -> None:
        self._waitingForDelivery = False
        self.handle(_ON_SETTLED)

    def _keep(self, record: IRecord, leftover: object) -> None:
        if isinstance(leftover, Leftover):
            self._leftovers[id(record)] = leftover


#: What the teardown does on entering each phase: one table for every
#: teardown, not a dictionary of bound methods made for each.
_ENTRIES: dict[Phase, Callable[[Teardown], None]] = {
    Phase.CLOSING: Teardown._closeEverything,
    Phase.ABORTED: Teardown._abortLeftovers,
    Phase.FORCED: Teardown._forceLeftovers,
    Phase.STOPPING: Teardown._stopProcesses,
    Phase.QUITTING: Teardown._quitProcesses,
    Phase.KILLING: Teardown._killProcesses,
    Phase.DONE: Teardown._finish,
}


def _runHooks(hooks: Iterable[Hook], stage: int) -> None:
    """
    Run, guarded, the hooks of one stage.
    """
    for hook in hooks:
        if hook.stage == stage:
            guarded(hook.closing, "closing", hook)


#: A record's stage, for sorting.
_stage = attrgetter("stage")


def _describe(record: Any) -> str:
    return f"{record.role} {record.kind}".strip()
