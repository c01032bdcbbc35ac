"""
Tests for the lifecycles of an end, a client attempt, a port, a test run and
a link's pipe: each table walked move by move, every impossible move
refused, and the objects moved by what Twisted tells them, without sockets.
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Any, ClassVar

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from trialnet._core._lifecycle import (
    ATTEMPT_MOVES,
    END_MOVES,
    PIPE_MOVES,
    PORT_MOVES,
    RUN_MOVES,
    SIDE_MOVES,
    AttemptEvent,
    AttemptState,
    EndEvent,
    EndState,
    ImpossibleMoveError,
    PipeEvent,
    PipeState,
    PortEvent,
    PortState,
    RunEvent,
    RunState,
    SideEvent,
    SideState,
    move,
    moves,
)
from trialnet._core._record import CLOSE, STOP_ACCEPTING, Hook
from trialnet._core._report import Origin
from trialnet._core._teardown import Teardown
from trialnet._run import TestRun
from trialnet._sockets._registry import Registry

ORIGIN = Origin("test_lifecycles.py", 1)


class _Owner:
    def __repr__(self) -> str:
        return "<the owner>"


class TableTestsMixin:
    """
    Tests that walk one lifecycle's table.  A test case mixes this in and
    sets its table, its enums and its first state.
    """

    table: ClassVar[dict[Any, Any]]
    states: ClassVar[type[Enum]]
    events: ClassVar[type[Enum]]
    initial: ClassVar[Enum]

    def test_everyLegalMove(self: Any) -> None:
        """
        Every move of the table leads where the table says.
        """
        for (state, event), target in self.table.items():
            self.assertIs(move(self.table, state, event, _Owner()), target)

    def test_everyImpossibleMoveRaises(self: Any) -> None:
        """
        Every pair of a state and an event the table lacks raises
        L{ImpossibleMoveError}, naming the owner, the state and the event.
        """
        impossible = 0
        for state in self.states:
            for event in self.events:
                if (state, event) in self.table:
                    continue
                impossible += 1
                with self.assertRaises(ImpossibleMoveError) as caught:
                    move(self.table, state, event, _Owner())
                error = caught.exception
                self.assertEqual(
                    (error.state, error.event, repr(error.owner)),
                    (state, event, "<the owner>"),
                )
                self.assertIn(f"<the owner>: {state.name} on {event.name}", str(error))
        self.assertGreater(impossible, 0)

    def test_everyStateReachable(self: Any) -> None:
        """
        Walking the table from the first state reaches every state, and the
        table moves only between this lifecycle's states on its events.
        """
        byState = moves(self.table)
        seen = {self.initial}
        frontier = deque([self.initial])
        while frontier:
            for target in byState.get(frontier.popleft(), {}).values():
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        self.assertEqual(seen, set(self.states))
        for state, event in self.table:
            self.assertIsInstance(state, self.states)
            self.assertIsInstance(event, self.events)


class EndTableTests(TableTestsMixin, SynchronousTestCase):
    """
    The moves of a connection end.
    """

    table = END_MOVES
    states = EndState
    events = EndEvent
    initial = EndState.NEW


class AttemptTableTests(TableTestsMixin, SynchronousTestCase):
    """
    The moves of a client attempt.
    """

    table = ATTEMPT_MOVES
    states = AttemptState
    events = AttemptEvent
    initial = AttemptState.DIALING


class PortTableTests(TableTestsMixin, SynchronousTestCase):
    """
    The moves of a port.
    """

    table = PORT_MOVES
    states = PortState
    events = PortEvent
    initial = PortState.IDLE


class RunTableTests(TableTestsMixin, SynchronousTestCase):
    """
    The moves of a test run.
    """

    table = RUN_MOVES
    states = RunState
    events = RunEvent
    initial = RunState.IDLE


class PipeTableTests(TableTestsMixin, SynchronousTestCase):
    """
    The moves of a link's pipe.
    """

    table = PIPE_MOVES
    states = PipeState
    events = PipeEvent
    initial = PipeState.DIALING


class SideTableTests(TableTestsMixin, SynchronousTestCase):
    """
    The moves of one of a pipe's two connections.
    """

    table = SIDE_MOVES
    states = SideState
    events = SideEvent
    initial = SideState.OPEN


def _registry() -> Registry:
    return Registry(MemoryReactorClock(), lambda protocol: None)


class EndTests(SynchronousTestCase):
    """
    An end moves by what its protocol and transport are told.
    """

    def test_connectedThenLost(self) -> None:
        """
        An adopted protocol's end is open until its connection is lost, then
        closed and settled; being connected again is refused.
        """
        protocol = Protocol()
        protocol.makeConnection(StringTransport())
        end = _registry().adoptProtocol(protocol, ORIGIN, "client")
        assert end is not None
        self.assertEqual(
            (end.state, end.open, end.closed, end.settled),
            (EndState.OPEN, True, False, False),
        )
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(
            (end.state, end.open, end.closed, end.settled),
            (EndState.CLOSED, False, True, True),
        )
        with self.assertRaises(ImpossibleMoveError) as caught:
            end.adoptConnected(StringTransport())
        self.assertIn("CLOSED on CONNECTED", str(caught.exception))

    def test_settledWhileLosing(self) -> None:
        """
        Inside its connectionLost an end is settled although still open.
        """
        seen: list[tuple[EndState, bool, bool]] = []
        ends: list[Any] = []

        class Watching(Protocol):
            def connectionLost(self, reason: Failure = connectionDone) -> None:
                end = ends[0]
                seen.append((end.state, end.open, end.settled))

        protocol = Watching()
        protocol.makeConnection(StringTransport())
        ends.append(_registry().adoptProtocol(protocol, ORIGIN, "client"))
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(seen, [(EndState.LOSING, True, True)])
        self.assertIs(ends[0].state, EndState.CLOSED)

    def test_forcedWhileOpen(self) -> None:
        """
        An end forced while open is closed, its protocol told.
        """
        lost: list[Failure] = []

        class Recording(Protocol):
            def connectionLost(self, reason: Failure = connectionDone) -> None:
                lost.append(reason)

        protocol = Recording()
        protocol.makeConnection(StringTransport())
        end = _registry().adoptProtocol(protocol, ORIGIN, "client")
        assert end is not None
        end.force(None)
        self.assertIs(end.state, EndState.CLOSED)
        self.assertEqual(len(lost), 1)


class _Port:
    """
    A port whose stops the test fires.
    """

    connected = True

    def __init__(self) -> None:
        self.stops: list[Deferred[None]] = []
        self.starts = 0

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 4321)

    def stopListening(self) -> Deferred[None]:
        stop: Deferred[None] = Deferred()
        self.stops.append(stop)
        return stop

    def startListening(self) -> None:
        self.starts += 1


class PortTests(SynchronousTestCase):
    """
    A port moves by its stops and starts, whoever calls them.
    """

    def test_stopOnceThenStartAgain(self) -> None:
        """
        A port stops once however often it is asked; started again, it is
        listening again and stops again.
        """
        port = _Port()
        record = _registry().addPort(port, ORIGIN)  # type: ignore[arg-type]
        self.assertEqual((record.state, record.listening), (PortState.LISTENING, True))
        first = port.stopListening()
        second = port.stopListening()
        self.assertEqual((record.state, len(port.stops)), (PortState.STOPPING, 1))
        port.stops[0].callback(None)
        self.assertEqual((record.state, record.settled), (PortState.STOPPED, True))
        self.assertEqual(
            (self.successResultOf(first), self.successResultOf(second)), (None, None)
        )
        port.startListening()
        self.assertEqual((record.state, record.settled), (PortState.LISTENING, False))
        record.close()
        self.assertEqual((record.state, len(port.stops)), (PortState.STOPPING, 2))

    def test_forcedThenItsStopFires(self) -> None:
        """
        A port released by force is stopped; its own stop firing afterwards
        is no impossible move.
        """
        port = _Port()
        record = _registry().addPort(port, ORIGIN)  # type: ignore[arg-type]
        record.close()
        record.force(None)
        self.assertIs(record.state, PortState.STOPPED)
        port.stops[0].callback(None)
        self.assertIs(record.state, PortState.STOPPED)

    def test_adoptedAfterItStopped(self) -> None:
        """
        A port adopted after it stopped is settled from the start.
        """
        port = _Port()
        port.connected = False
        registry = _registry()
        registry.adoptPort(port, ORIGIN, observed=True)  # type: ignore[arg-type]
        record = registry.portOf(port)
        assert record is not None
        self.assertEqual((record.state, record.settled), (PortState.IDLE, True))


class _Connector:
    state = "connecting"

    def stopConnecting(self) -> None:
        self.state = "disconnected"


class AttemptTests(SynchronousTestCase):
    """
    A client attempt moves by what its connector tells its factory.
    """

    def _attempt(self) -> Any:
        return _registry().addAttempt(Factory.forProtocol(Protocol), None, ORIGIN)

    def test_failedThenStopped(self) -> None:
        """
        An attempt whose connection failed is over once its connector
        stopped its factory.
        """
        attempt = self._attempt()
        failures: list[Failure] = []
        attempt.deferred.addErrback(failures.append)
        attempt.doStart()
        self.assertIs(attempt.state, AttemptState.CONNECTING)
        connector = _Connector()
        attempt.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))
        self.assertEqual(
            (attempt.state, attempt.settled), (AttemptState.RUNNING, False)
        )
        attempt.doStop()
        self.assertEqual((attempt.state, attempt.settled), (AttemptState.OVER, True))
        self.assertEqual(len(failures), 1)

    def test_connectorConnectsAgain(self) -> None:
        """
        A connector that connects again after its attempt was over starts
        the factory again: the attempt runs, unsettled, until stopped.
        """
        attempt = self._attempt()
        attempt.deferred.addErrback(lambda failure: None)
        attempt.doStart()
        attempt.clientConnectionFailed(_Connector(), Failure(ConnectionRefusedError()))
        attempt.doStop()
        attempt.doStart()
        self.assertEqual(
            (attempt.state, attempt.settled), (AttemptState.RUNNING, False)
        )
        attempt.doStop()
        self.assertIs(attempt.state, AttemptState.OVER)

    def test_forcedWhileRunning(self) -> None:
        """
        An attempt forced while its factory runs is halted: settled, and
        its factory told nothing more.
        """
        attempt = self._attempt()
        attempt.deferred.addErrback(lambda failure: None)
        attempt.doStart()
        attempt.clientConnectionFailed(_Connector(), Failure(ConnectionRefusedError()))
        attempt.connector = _Connector()
        self.assertIsNotNone(attempt.force(None))
        self.assertEqual((attempt.state, attempt.settled), (AttemptState.HALTED, True))
        attempt.doStop()
        self.assertIs(attempt.state, AttemptState.HALTED)
        with self.assertRaises(ImpossibleMoveError):
            attempt.abandon()


class _Case:
    """
    What a test run asks of its test case.
    """

    disconnectTimeout = 5.0
    processTimeout = 5.0
    strictCleanup = False
    failFast = True

    def __init__(self) -> None:
        self.cleanups: list[Any] = []

    def setUp(self) -> None:
        pass

    def tearDown(self) -> None:
        pass

    def addCleanup(self, function: Any) -> None:
        self.cleanups.append(function)

    def getTimeout(self) -> float:
        return 120.0


class RunTests(SynchronousTestCase):
    """
    A test run moves by trial's steps and the test's first use.
    """

    def test_openedThenCleanedUp(self) -> None:
        """
        The first use registers the teardown once; trial's cleanups and
        tearDown move the run on; finishing stops its observation.
        """
        case = _Case()
        run = TestRun(case, MemoryReactorClock())
        self.assertIs(run.state, RunState.IDLE)
        run.setUp()
        self.assertEqual((run.state, run.watching), (RunState.WATCHING, True))
        run.current()
        run.current()
        self.assertEqual((run.state, len(case.cleanups)), (RunState.REGISTERED, 1))
        self.successResultOf(case.cleanups[0]())
        self.assertEqual((run.state, run.cleanedUp), (RunState.CLOSING, True))
        run.tearDown()
        self.assertIs(run.state, RunState.CLOSING)
        run.finish()
        self.assertEqual((run.state, run.watching), (RunState.FINISHED, False))
        with self.assertRaises(ImpossibleMoveError):
            run.watch()

    def test_tearDownWithoutSetUp(self) -> None:
        """
        A run whose setUp it did not wrap (a generator function) is cleaned
        up without ever observing.
        """
        run = TestRun(_Case(), MemoryReactorClock())
        run.tearDown()
        self.assertEqual(
            (run.state, run.watching, run.cleanedUp),
            (RunState.CLEANED_UNOBSERVED, False, True),
        )
        run.finish()
        self.assertIs(run.state, RunState.FINISHED)


class _Hook(Hook):
    def __init__(self, name: str, log: list[str], stage: int = CLOSE) -> None:
        self.name = name
        self.log = log
        self.stage = stage  # type: ignore[misc]

    def closing(self) -> None:
        self.log.append(self.name)
        if self.name == "raising":
            raise RuntimeError("a hook that fails")

    def forget(self) -> None:
        self.log.append(f"forget {self.name}")


class _LoggingPort(_Port):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def stopListening(self) -> Deferred[None]:
        self.log.append("port")
        return super().stopListening()


class _LoggingTransport(StringTransport):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def loseConnection(self) -> None:
        self.log.append("end")
        super().loseConnection()


class HookTests(SynchronousTestCase):
    """
    What never waits is a hook the teardown runs at its stage, not a record
    it waits for.
    """

    def test_runAtTheirStage(self) -> None:
        """
        The teardown runs the hooks of the first stage before the ports
        stop, those of the second before the ends close, one added while it
        closes at once, and every hook again when it forgets; a hook that
        raises is logged and the rest still runs.
        """
        log: list[str] = []
        reactor = MemoryReactorClock()
        registry = Registry(reactor, lambda protocol: None)
        registry.addPort(_LoggingPort(log), ORIGIN)  # type: ignore[arg-type]
        protocol = Protocol()
        protocol.makeConnection(_LoggingTransport(log))
        registry.adoptProtocol(protocol, ORIGIN, "client")
        registry.addHook(_Hook("raising", log, STOP_ACCEPTING))
        registry.addHook(_Hook("first", log, STOP_ACCEPTING))
        registry.addHook(_Hook("second", log))
        teardown = Teardown(reactor, registry, 1.0)
        closed = teardown.close()
        self.assertEqual(log, ["raising", "first", "port", "second", "end"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        registry.addHook(_Hook("late", log))
        self.assertEqual(log[-1], "late")
        del log[:]
        for _ in range(5):
            reactor.advance(1.0)
        self.failureResultOf(closed)
        self.assertEqual(
            [entry for entry in log if entry.startswith("forget")],
            ["forget raising", "forget first", "forget second", "forget late"],
        )
        self.assertEqual(list(registry.records()), [])
