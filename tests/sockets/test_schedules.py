"""
Generated close schedules: hypothesis picks a stream transport, a number of
connections and what each end of each connection does, runs that as a
sample test, and checks the teardown's promises every time.

The default number of schedules keeps the suite fast; ask for more with
C{TRIALNET_SCHEDULES=N}:

    TRIALNET_SCHEDULES=500 .venv/bin/python -m twisted.trial \
        tests.sockets.test_schedules
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IHalfCloseableProtocol, IProtocol
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.python.reflect import qual
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase, TeardownError

from ..helpers import NeverFinishes, errorValues, openFiles, runSample, warmUp
from ..transports import TCP4, TCP6, TLS, UNIX, StreamTransport

#: How many schedules one run generates.
SCHEDULES = int(os.environ.get("TRIALNET_SCHEDULES", "12"))

#: The samples' C{disconnectTimeout}: short, so that schedules with stuck
#: ends stay cheap, yet far longer than an orderly close on loopback.
BOUND = 0.5

#: How long the whole teardown may take beyond C{BOUND}.
SLACK = 1.0

#: How far trialnet's clock (the reactor's) and the test's may disagree
#: about how long the teardown waited.
CLOCKS_APART = 0.01

#: How much an end that floods its peer writes: more than the kernel's
#: buffers on both sides hold, so that it cannot finish while nobody reads.
FLOOD = 16 * 1024 * 1024


class Scheduled(Protocol):
    """
    One end of a generated schedule: it records when it closed, and does
    what its class says when the test tells it to.

    @ivar lostAt: The phase of the teardown in which C{connectionLost} ran:
        C{"test"} (before the teardown), C{"orderly"} (before the teardown
        aborted anything) or C{"aborted"} (after); L{None} while open.
    @ivar lostCount: How many times C{connectionLost} ran.
    """

    #: The run this end belongs to, set when it is built.
    outcome: Outcome

    def __init__(self) -> None:
        self.lostAt: str | None = None
        self.lostCount = 0
        self.received = b""
        self._arrived: Deferred[None] | None = None

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self._arrived is not None:
            arrived, self._arrived = self._arrived, None
            arrived.callback(None)

    def waitForData(self) -> Deferred[None]:
        """
        A Deferred that fires when something has arrived (at once if it has).
        """
        if self.received:
            return succeed(None)
        self._arrived = Deferred()
        return self._arrived

    def behave(self) -> None:
        """
        Do what this end does, once it is connected (and past TLS's
        handshake).
        """

    def noticeAborts(self) -> None:
        """
        From now on, the first C{abortConnection} of this end's transport
        (the teardown's, at its bound) marks the run as aborting.
        """
        transport: Any = self.transport
        abort = transport.abortConnection

        def aborting() -> None:
            self.outcome.aborting()
            abort()

        transport.abortConnection = aborting

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lostCount += 1
        self.lostAt = self.outcome.phase


class DoesNothing(Scheduled):
    """
    Leaves everything to the teardown.
    """


class ClosesFirst(Scheduled):
    """
    Closes its connection itself, before the teardown.
    """

    def behave(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


class Aborts(Scheduled):
    """
    Aborts its connection itself, before the teardown.
    """

    def behave(self) -> None:
        self.transport.abortConnection()  # type: ignore[union-attr]


class PausesReading(Scheduled):
    """
    Stops reading and never resumes.
    """

    def behave(self) -> None:
        self.transport.pauseProducing()  # type: ignore[union-attr]


class NeverFinishesProducing(Scheduled):
    """
    Registers a producer that never finishes and is never unregistered.
    """

    def behave(self) -> None:
        self.transport.registerProducer(NeverFinishes(), False)  # type: ignore[union-attr]


@implementer(IHalfCloseableProtocol)
class HalfCloses(Scheduled):
    """
    Closes its writing side, and supports half-close, so that it stays open
    for reading until its peer closes.
    """

    def behave(self) -> None:
        self.transport.loseWriteConnection()  # type: ignore[union-attr]

    def readConnectionLost(self) -> None:
        pass

    def writeConnectionLost(self) -> None:
        pass


class Floods(Scheduled):
    """
    Stops reading, then writes more than the kernel can hold.
    """

    def behave(self) -> None:
        self.transport.pauseProducing()  # type: ignore[union-attr]
        self.transport.write(b"x" * FLOOD)  # type: ignore[union-attr]


class RaisesWhenLost(Scheduled):
    """
    Raises from C{connectionLost}.
    """

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        raise ValueError("connectionLost broke")


BEHAVIOURS: tuple[type[Scheduled], ...] = (
    DoesNothing,
    ClosesFirst,
    Aborts,
    PausesReading,
    NeverFinishesProducing,
    HalfCloses,
    Floods,
    RaisesWhenLost,
)

#: Ends that close in an orderly way when the teardown asks, whatever the
#: other end does.
ORDERLY = (DoesNothing, ClosesFirst, Aborts, RaisesWhenLost)

#: Ends that never let their own orderly close finish: one holds a producer
#: that is never unregistered, the other a write buffer only a reader could
#: drain.
UNCLOSABLE = (NeverFinishesProducing, Floods)

#: Ends that close in an orderly way over TLS when both ends are asked to,
#: whatever the other end does among these: a TLS close waits for the
#: peer's close_notify, which the teardown lets even a paused end read.
READS_TO_CLOSE = (*ORDERLY, PausesReading)


TRANSPORTS: tuple[StreamTransport, ...] = tuple(
    transport for transport in (TCP4(), TCP6(), UNIX(), TLS()) if not transport.skip
)


@dataclass(frozen=True)
class Schedule:
    """
    A generated scenario: a transport, and for each connection what its
    client and its server do.
    """

    transport: StreamTransport
    connections: Sequence[tuple[type[Scheduled], type[Scheduled]]]

    def __repr__(self) -> str:
        pairs = ", ".join(f"{c.__name__}/{s.__name__}" for c, s in self.connections)
        return f"Schedule({type(self.transport).__name__}: {pairs})"


@st.composite
def schedules(draw: Any) -> Schedule:
    """
    A transport, then one to twenty connections, each end with a behaviour
    that transport supports (TLS has no half-close).
    """
    transport = draw(st.sampled_from(TRANSPORTS))
    behaviours = [
        b for b in BEHAVIOURS if transport.kind != "tls" or b is not HalfCloses
    ]
    end = st.sampled_from(behaviours)
    connections = draw(st.lists(st.tuples(end, end), min_size=1, max_size=20))
    return Schedule(transport, connections)


class Outcome:
    """
    What one run of a schedule left behind.

    @ivar phase: Where the run is: C{"test"}, C{"orderly"} (the teardown
        began) or C{"aborted"} (the teardown began to abort what was left).
    @ivar abortedAfter: Seconds from the teardown's start to its first
        abort, if it aborted anything.
    """

    def __init__(self) -> None:
        self.phase = "test"
        self.ends: list[tuple[str, Scheduled]] = []
        self.result = TestResult()
        self.teardownStarted = 0.0
        self.teardownSeconds = 0.0
        self.abortedAfter: float | None = None

    def aborting(self) -> None:
        """
        The teardown aborts an end.
        """
        if self.phase != "aborted":
            self.phase = "aborted"
            self.abortedAfter = time.monotonic() - self.teardownStarted


class Builds(Factory):
    """
    Builds one end of each kind it is given, in order, for one run.
    """

    def __init__(self, kinds: list[type[Scheduled]], outcome: Outcome) -> None:
        self.kinds = kinds
        self.outcome = outcome

    def buildProtocol(self, addr: object) -> Scheduled:
        protocol = self.kinds.pop(0)()
        protocol.outcome = self.outcome
        protocol.factory = self
        return protocol


def sampleFor(schedule: Schedule, outcome: Outcome) -> type[NetworkTestCase]:
    """
    A sample test that opens the schedule's connections one after the
    other, makes each carry a byte both ways (so TLS is past its handshake),
    has every end behave, and leaves the rest to the teardown.
    """
    transport = schedule.transport
    serverFactory = Builds([server for _, server in schedule.connections], outcome)

    class Sample(NetworkTestCase):
        disconnectTimeout = BOUND

        async def test_it(self) -> None:
            self.addCleanup(self.teardownEnded)
            port = transport.listen(self, serverFactory)
            self.addCleanup(self.teardownBegins)
            pairs: list[tuple[IProtocol, IProtocol]] = []
            for clientKind, _ in schedule.connections:
                client: IProtocol = await self.connect(
                    port, Builds([clientKind], outcome)
                )
                server = await self.serverProtocolFor(client)
                pairs.append((client, server))
                client.transport.write(b"c")  # type: ignore[attr-defined]
                server.transport.write(b"s")  # type: ignore[attr-defined]
                await gatherResults(
                    [client.waitForData(), server.waitForData()]  # type: ignore[attr-defined]
                )
            for client, server in pairs:
                outcome.ends += [("client", client), ("server", server)]  # type: ignore[list-item]
            for _, end in outcome.ends:
                end.behave()

        def teardownBegins(self) -> None:
            outcome.phase = "orderly"
            outcome.teardownStarted = time.monotonic()
            for _, end in outcome.ends:
                if end.lostAt is None:
                    end.noticeAborts()

        def teardownEnded(self) -> None:
            outcome.teardownSeconds = time.monotonic() - outcome.teardownStarted

    return Sample


def run(schedule: Schedule) -> Outcome:
    """
    Run the schedule's sample test into a fresh result.
    """
    outcome = Outcome()
    outcome.result = runSample(sampleFor(schedule, outcome))
    return outcome


def expectedAbort(
    transport: StreamTransport, mine: type[Scheduled], peer: type[Scheduled]
) -> bool | None:
    """
    Whether an end must be aborted (C{True}), must not be (C{False}), or
    either may happen (L{None}: the outcome hangs on whether a close
    reached it before the teardown, a race the schedule does not fix).
    """
    if mine in UNCLOSABLE and peer in UNCLOSABLE:
        return True
    if transport.kind == "tls":
        if mine in READS_TO_CLOSE and peer in READS_TO_CLOSE:
            return False
        return None
    # Without TLS, an end with nothing to write closes when asked, and one
    # that floods its peer closes once the peer has closed.
    closes = (*ORDERLY, PausesReading, HalfCloses)
    if mine in closes or (mine is Floods and peer in closes):
        return False
    return None


def sockets() -> set[object]:
    """
    The sockets the reactor reads from or writes to now (not its wakers,
    which the asyncio reactor makes anew for each run).
    """
    from twisted.internet import reactor

    watched = set(reactor.getReaders()) | set(reactor.getWriters())
    return {each for each in watched if callable(getattr(each, "getHost", None))}


class ScheduleTests(SynchronousTestCase):
    """
    Generated schedules of closes, aborts, stalls and failures, each run as
    a sample test over real sockets.
    """

    @settings(
        max_examples=SCHEDULES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(schedules())
    def test_teardownPromises(self, schedule: Schedule) -> None:
        """
        Whatever the ends do, the teardown aborts nothing before
        C{disconnectTimeout}, ends within it plus a second, leaves no socket
        in the reactor and no open file behind, closes every end exactly
        once, and its report names exactly the ends that had to be aborted:
        the test passes when none had to be (and none raised), and otherwise
        fails with one L{TeardownError}; where the behaviours of a
        connection's two ends decide whether an end must be aborted, it was.
        """
        warmUp()
        filesBefore = openFiles()
        socketsBefore = sockets()

        outcome = run(schedule)

        self.assertLess(outcome.teardownSeconds, BOUND + SLACK)
        if outcome.abortedAfter is not None:
            self.assertGreaterEqual(outcome.abortedAfter, BOUND - CLOCKS_APART)
        self.assertEqual(sockets(), socketsBefore)
        # New ones only: a file an earlier test dropped may close meanwhile.
        self.assertEqual(openFiles() - filesBefore, set())
        self.assertEqual(
            [(role, end.lostCount) for role, end in outcome.ends],
            [(role, 1) for role, _ in outcome.ends],
        )

        aborted = Counter(
            (role, qual(type(end)))
            for role, end in outcome.ends
            if end.lostAt == "aborted"
        )
        raised = sum(isinstance(end, RaisesWhenLost) for _, end in outcome.ends)
        errors = errorValues(outcome.result)
        reports = [error for error in errors if isinstance(error, TeardownError)]
        others = [error for error in errors if not isinstance(error, TeardownError)]
        self.assertEqual(
            [type(error) for error in others], [ValueError] * raised, errors
        )
        self.assertEqual(outcome.result.failures, [])
        if aborted:
            (report,) = reports
            named = Counter((left.role, left.kind) for left in report.leftovers)
            self.assertEqual(named, aborted, str(report))
        else:
            self.assertEqual(reports, [])
        self.assertEqual(outcome.result.successes, int(not errors))

        for index, (clientKind, serverKind) in enumerate(schedule.connections):
            (_, client), (_, server) = outcome.ends[2 * index : 2 * index + 2]
            for mine, peer, end in (
                (clientKind, serverKind, client),
                (serverKind, clientKind, server),
            ):
                expected = expectedAbort(schedule.transport, mine, peer)
                if expected is not None:
                    self.assertEqual(
                        end.lostAt == "aborted", expected, (mine, peer, end.lostAt)
                    )
