# -*- test-case-name: tests.sockets.test_observedReactor,tests.test_timeouts -*-
"""
One run of a L{trialnet.NetworkTestCase}: its networks, from before C{setUp}
to after C{tearDown}, and the sockets left in the reactor by means trialnet
cannot see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.python import log
from twisted.python.failure import Failure

from ._core._defaults import (
    DISCONNECT_TIMEOUT,
    SHARE_OF_TEST_TIMEOUT,
    THREAD_GRACE,
    THREAD_GRACE_SHARE,
)
from ._core._lifecycle import (
    RUN_CLEANED_UP,
    RUN_MOVES,
    RUN_OBSERVING,
    RUN_REGISTERED,
    ImpossibleMoveError,
    RunEvent,
    RunState,
)
from ._core._phases import Phase
from ._core._report import LATE_STEP, Origin, TeardownError
from ._core._seconds import checkSeconds
from ._core._threads import Threads, checkThreads
from ._network import Network
from ._sockets._observe import observe, observing, stopObserving
from ._sockets._untracked import closeUntracked, selectables, untracked
from ._time._virtual import (
    VirtualTime,
    afterReal,
    checkVirtualTime,
    refuseRealWhileVirtual,
    timersLeftError,
)

# Read once: a member read through its enum class costs a Python-level
# lookup (Python 3.11), and these are read for every test.
_IDLE = RunState.IDLE
_REGISTERED = RunState.REGISTERED
_ON_WATCH = RunEvent.WATCH
_ON_REGISTER = RunEvent.REGISTER
_ON_CLEANUPS = RunEvent.CLEANUPS
_ON_FINISH = RunEvent.FINISH


class TestRun:
    """
    The networks of one run of one test case.

    The run observes the reactor from before C{setUp} until it ends.  The
    test's network is made at the first thing opened, by the test or by the
    code under test, and registers its teardown as a cleanup then; from
    then on the run hands it what it observes.  A network first used in
    C{tearDown}, after trial ran the cleanups, observes by itself and is
    closed after C{tearDown}.  A test that opens nothing makes no network.

    @ivar case: The test case, a trial C{TestCase}.
    @ivar network: The network of the test, until its teardown began.
    @ivar handedTo: The network of the test, which what the run observes is
        handed to (and which declines it once its teardown ended).
    @ivar late: The network first used in C{tearDown}, until it closed.
    @ivar state: Where the run is, moved by L{RUN_MOVES} only.
    @ivar ownSetUp: The test's own C{setUp}, which L{setUp} runs.
    @ivar ownTearDown: The test's own C{tearDown}, which L{tearDown} runs.
    """

    def __init__(self, case: Any, reactor: Any) -> None:
        self.case = case
        self.reactor = reactor
        self.network: Network | None = None
        self.handedTo: Network | None = None
        self.late: Network | None = None
        self.state = _IDLE
        self._made: list[Network] = []
        self._before = selectables(reactor)
        self._threads = Threads()
        self.ownSetUp: Callable[[], object] = case.setUp
        self.ownTearDown: Callable[[], object] = case.tearDown
        self.virtual: VirtualTime | None = None
        self._virtualAsked = False

    @property
    def watching(self) -> bool:
        """
        Whether the run observes the reactor.
        """
        return self.state in RUN_OBSERVING

    @property
    def cleanedUp(self) -> bool:
        """
        Whether trial ran the cleanups.
        """
        return self.state in RUN_CLEANED_UP

    def _move(self, event: RunEvent) -> bool:
        """
        Apply a move.

        @return: Whether the state changed.
        """
        before = self.state
        # move(), written out: shaped for speed (five moves a test), with
        # the same error for a move the table does not have.
        try:
            self.state = RUN_MOVES[before, event]
        except KeyError:
            raise ImpossibleMoveError(self, before, event) from None
        return self.state is not before

    def watch(self) -> None:
        """
        Observe the reactor until the run ends.
        """
        # Asked at every use of the network: what the table leaves as it is
        # is not looked up.
        if self.state not in RUN_OBSERVING and self._move(_ON_WATCH):
            observe(self.reactor, self)

    def observedPort(self, port: Any, origin: Origin) -> None:
        """
        The code under test listened: hand the port to the test's network.
        """
        network = self._observer()
        if network is not None:
            network._parts().observedPort(port, origin)

    def observedConnector(self, connector: Any, origin: Origin) -> None:
        """
        The code under test connected: hand the connector to the test's
        network.
        """
        network = self._observer()
        if network is not None:
            network._parts().observedConnector(connector, origin)

    def observedProcess(
        self, process: Any, argv: Sequence[str], origin: Origin
    ) -> None:
        """
        The code under test started a process: hand it to the test's
        network; in C{tearDown}, once that network closed, to the network
        closed after C{tearDown} (no scan after the test finds a process).
        """
        network = self._observer()
        if network is None:
            return
        parts = network._parts()
        if parts.teardown.phase is Phase.DONE and self.state in RUN_CLEANED_UP:
            parts = self.current()._parts()
        parts.observedProcess(process, argv, origin)

    def _observer(self) -> Network | None:
        if self.handedTo is None and self.state not in RUN_CLEANED_UP:
            self.observing()
        if self.handedTo is not None:
            self.registerClose()
        return self.handedTo

    def current(self) -> Network:
        """
        The network that what the test opens now belongs to; the teardown is
        registered at the first use.

        Its common case is written out in C{NetworkTestCase._parts} too
        (shaped for speed): a change here goes there as well.
        """
        network = self.network
        if network is not None and self.state is _REGISTERED:
            # Shaped for speed (every listen and connect asks): observing,
            # and the teardown registered already.
            network.failFast = self.case.failFast
            return network
        if self.state in RUN_CLEANED_UP:
            if self.late is None:
                # Closed after tearDown by the run, not as a cleanup: trial
                # already ran those.
                self.late = self._newNetwork(observes=True)
            return self.late
        self.watch()
        network = self.observing()
        # Read at each use: the test may have changed it since setUp began.
        network.failFast = self.case.failFast
        self.registerClose()
        return network

    def observing(self) -> Network:
        """
        The test's network, made at its first use.
        """
        if self.network is None:
            self.network = self.handedTo = self._newNetwork(observes=False)
        return self.network

    def registerClose(self) -> None:
        """
        At the first thing opened, register the teardown as a cleanup: it
        runs after the cleanups the test adds later, as trial runs them last
        in, first out.
        """
        if self.state not in RUN_REGISTERED and self._move(_ON_REGISTER):
            self.case.addCleanup(self._closeNetwork)

    def _newNetwork(self, observes: bool) -> Network:
        case = self.case
        network = _CaseNetwork(
            observes,
            case,
            reactor=self.reactor,
            disconnectTimeout=case.disconnectTimeout,
            processTimeout=case.processTimeout,
            strictCleanup=case.strictCleanup,
            failFast=case.failFast,
        )
        self._made.append(network)
        return network

    # Around trial's setUp and tearDown

    def setUp(self) -> Deferred[object] | None:
        """
        Run the test's own C{setUp} with the run observing, and in virtual
        time if the test asks for it.
        """
        if getattr(self.case, "virtualTime", False) is False:
            # Shaped for speed: real time, as nearly every test keeps it, is
            # known good, and needs only the check that no other network
            # made the reactor's time virtual (_startTime(), written out).
            refuseRealWhileVirtual(self.reactor)
        else:
            self._startTime()
        self.watch()
        try:
            result = self.ownSetUp()
        except BaseException:
            self._setUpFailed(None)
            raise
        if result is None:
            return None
        # A Deferred, a coroutine: as trial would take it.
        return maybeDeferred(lambda: result).addErrback(self._setUpFailed)

    def _startTime(self) -> None:
        """
        Read C{virtualTime}, once, before anything is opened; make the
        reactor's clock virtual if it is true.

        @raise TypeError: If it is not a C{bool}.
        @raise ValueError: If another network is open on the reactor in the
            other mode, or the reactor cannot be made virtual.
        """
        asked = self._virtualAsked = checkVirtualTime(
            getattr(self.case, "virtualTime", False)
        )
        if not asked:
            refuseRealWhileVirtual(self.reactor)
            return
        if observing(self.reactor):
            raise ValueError(
                "virtualTime: another network is open on the reactor in real "
                "time; networks open together on one reactor must agree"
            )
        case = self.case
        self.virtual = VirtualTime(
            self.reactor,
            budget=checkSeconds(case.virtualTimeBudget, "virtualTimeBudget"),
            stall=checkSeconds(case.virtualTimeStall, "virtualTimeStall", zero=True),
        )

    def _setUpFailed(self, failure: Failure | None) -> Failure | None:
        # Trial runs the cleanups but no tearDown: look after the last
        # cleanup, when everything else had its chance to close.
        self._addLastCleanup(self._afterTearDown, None)
        return failure

    def tearDown(self) -> object:
        """
        Run the test's own C{tearDown}, then close the network it first used
        there and what the test left in the reactor unseen.
        """
        # Trial ran the cleanups: a network used from here on is closed
        # after tearDown.  (The virtual clock told here and in
        # _closeNetwork, and the registered states read in place: shaped
        # for speed, every test, with the teardown registered and real time,
        # finds nothing to do here.)
        virtual = self.virtual
        if virtual is not None:
            virtual.teardownBegins()
        self._move(_ON_CLEANUPS)
        network = self.network
        if network is not None and self.state not in RUN_REGISTERED:
            self.network = None
            network.close()
        try:
            result = self.ownTearDown()
        except BaseException:
            return fail().addBoth(self._afterTearDown)
        if result is None:
            return self._afterTearDown(None)
        # A Deferred, a coroutine: as trial would take it.
        return maybeDeferred(lambda: result).addBoth(self._afterTearDown)

    def _afterTearDown(self, outcome: object) -> object:
        """
        After C{tearDown}, or after the last cleanup when C{setUp} failed.
        """
        late, self.late = self.late, None
        if late is not None:
            closing = self.closeNetwork(late).addErrback(_fromStep, LATE_STEP)
            return (
                _after(closing, outcome)
                .addBoth(self._closeUntracked)
                .addBoth(self._checkThreads)
            )
        closed = self._closeUntracked(outcome)
        if closed is outcome:
            # Nothing left unseen, as after nearly every test: no check
            # against Deferred, an abstract class (isinstance goes through
            # its metaclass's Python hook, about 2,000 instructions).
            return self._checkThreads(outcome)
        if isinstance(closed, Deferred):
            return closed.addBoth(self._checkThreads)
        return self._checkThreads(closed)

    def _checkThreads(self, outcome: object) -> object:
        """
        Last, once every socket is closed: name the threads the test started
        that are still alive after a short grace.
        """
        # The grace is a share of the test's timeout, which trial looks up
        # through several objects: only when a thread is left to wait for.
        if not self._threads.started(self.reactor):
            return self._endTime(outcome)
        case = self.case
        grace = min(THREAD_GRACE, float(case.getTimeout()) * THREAD_GRACE_SHARE)
        checking = checkThreads(self._threads, self.reactor, case.strictCleanup, grace)
        if checking is None:
            return self._endTime(outcome)
        return _after(checking, outcome).addBoth(self._endTime)

    def _endTime(self, outcome: object) -> object:
        """
        Last of all: stop the timers the test left pending in virtual time
        (named under strict cleanup), and turn the clock real again.
        """
        virtual, self.virtual = self.virtual, None
        now = getattr(self.case, "virtualTime", False)
        if virtual is None:
            if now is self._virtualAsked:
                return outcome
            leftovers = []
        else:
            leftovers = virtual.teardownEnded()
        error = timersLeftError(
            leftovers, self.case.strictCleanup, self._virtualAsked, now
        )
        if error is not None:
            outcome = _after(fail(error), outcome)
        if virtual is None:
            return outcome
        return afterReal(virtual, outcome)

    def _closeUntracked(self, outcome: object) -> object:
        found = untracked(self.reactor, self._before)
        if not found:
            return outcome
        case = self.case
        refused = None
        try:
            # The test's own setting, checked here as the network checks it.
            bound = checkSeconds(case.disconnectTimeout, "disconnectTimeout")
        except (TypeError, ValueError):
            # Still close what was found, within the default bound; then
            # the test fails with the refusal.
            refused = Failure()
            bound = DISCONNECT_TIMEOUT
        closing = closeUntracked(
            self.reactor, found, bound, case.strictCleanup, float(case.getTimeout())
        )
        result = _after(Deferred.fromCoroutine(closing), outcome)
        if refused is not None:
            result.addBoth(lambda closed: _after(fail(refused), closed))
        return result

    def _addLastCleanup(self, function: Callable[..., object], *args: object) -> None:
        """
        Register a cleanup to run after every other one (trial runs them last
        in, first out).  Trial keeps them in C{_cleanups}, as the standard
        library's C{unittest} does; should that ever change, nothing is
        added: run any earlier, the cleanup would find what the others are
        still to close.
        """
        cleanups = getattr(self.case, "_cleanups", None)
        if isinstance(cleanups, list):
            cleanups.insert(0, (function, args, {}))

    # Closing

    def _closeNetwork(self) -> Deferred[None]:
        network, self.network = self.network, None
        # The virtual clock runs at real speed from the teardown's start.
        virtual = self.virtual
        if virtual is not None:
            virtual.teardownBegins()
        self._move(_ON_CLEANUPS)
        if network is None:
            return succeed(None)
        return self.closeNetwork(network)

    def closeNetwork(self, network: Network) -> Deferred[None]:
        """
        Close one of the run's networks with the test's settings as they are
        now.
        """
        case = self.case
        # The teardown's own values read and set in place of the network's
        # properties, which only pass them on (one call fewer each, every
        # test); a new value still goes through the network's check.
        teardown = network._own.teardown
        # What the test set on itself since, it meant for its teardown (and
        # is checked then); the very value the network holds was checked
        # already (an equal one of another type, a Decimal, is not).
        seconds = case.disconnectTimeout
        if seconds is not teardown.disconnectTimeout:
            network.disconnectTimeout = seconds
        seconds = case.processTimeout
        if seconds is not teardown.processTimeout:
            network.processTimeout = seconds
        teardown.strict = bool(case.strictCleanup)
        # Trial gives each cleanup the test's timeout: end, and report,
        # before it would.
        teardown.fitWithin(float(case.getTimeout()))
        return network.close()

    def finish(self) -> None:
        """
        The run ended: close what closed nothing, and stop observing.
        """
        if self.state not in RUN_REGISTERED:
            for network in (self.network, self.late):
                if network is not None:
                    # Nothing was opened: closing is immediate.
                    network.close()
        # Observation ends last, after every cleanup and tearDown: a
        # cleanup of trial's (a self.patch of the reactor's connectTCP,
        # say) puts back what it found, which may be the observer's.
        virtual, self.virtual = self.virtual, None
        if virtual is not None:
            # The teardown never ended (trial timed it out): real again.
            virtual.teardownEnded()
        # The watching property, written out (every test).
        watching = self.state in RUN_OBSERVING
        self._move(_ON_FINISH)
        if watching:
            stopObserving(self.reactor, self)
        made, self._made = self._made, []
        for network in made:
            network._stopObserving()
        self.network = self.late = self.handedTo = None


class _CaseNetwork(Network):
    """
    A test's network: the test's own, which the run hands what it observes,
    or one first used in C{tearDown}, which observes by itself.
    """

    _checksThreads = False
    _ownsTime = False

    # The bound of the waits, until looked up or set (see waitTimeout):
    # class defaults, not stores, for every test.
    _waitBound: float | None = None
    _waitBoundRead = False

    def __init__(
        self,
        observes: bool,
        case: Any,
        reactor: Any,
        disconnectTimeout: float,
        processTimeout: float,
        strictCleanup: bool,
        failFast: bool,
    ) -> None:
        self._observesItself = observes
        self._case = case
        # Its arguments named, not gathered into a dictionary and spread
        # again: it is made for every test.
        super().__init__(
            reactor,
            disconnectTimeout,
            strictCleanup=strictCleanup,
            failFast=failFast,
            processTimeout=processTimeout,
        )
        # Its teardown runs after the test method: what still awaits a
        # server end then is a test that trial timed out.
        self._own.registry.pairing.dropAwaited = True

    @property
    def waitTimeout(self) -> float | None:
        """
        The default bound of the waits of the test's recorders: a share of
        the test's timeout, unless set.  Looked up at the first wait or
        recorder that needs it (trial's C{getTimeout} walks several objects
        for it), not for every test.
        """
        if not self._waitBoundRead:
            self._waitBound = float(self._case.getTimeout()) * SHARE_OF_TEST_TIMEOUT
            self._waitBoundRead = True
        return self._waitBound

    @waitTimeout.setter
    def waitTimeout(self, seconds: float | None) -> None:
        self._waitBound = seconds
        self._waitBoundRead = True

    def close(self) -> Deferred[None]:
        """
        The teardown, and nothing after it: observing goes on until the
        test's run ends (see L{TestRun.finish}), and the run checks the
        threads and keeps the time; what the code under test opens after
        the teardown is declined, and found by the untracked scan.
        """
        # One callback fewer a test than Network.close, whose steps after
        # the teardown all belong to the run here.
        return self._own.teardown.close()


def _fromStep(failure: Failure, step: str) -> Failure:
    """
    Say which of trialnet's steps an error of a teardown comes from.
    """
    error = failure.value
    if isinstance(error, TeardownError):
        return Failure(TeardownError(error.leftovers, error.waited, step))
    return failure


def _after(step: Deferred[None], outcome: object) -> Deferred[Any]:
    """
    Wait for C{step}, then give back C{outcome} (a failure of the step
    before it still fails the test); a failure of C{step} itself comes
    first.
    """

    def done(stepOutcome: object) -> object:
        if isinstance(stepOutcome, Failure):
            if isinstance(outcome, Failure):
                # Both failed: report the earlier failure too.
                log.err(outcome)
            return stepOutcome
        return outcome

    return step.addBoth(done)
