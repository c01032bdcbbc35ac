"""
The last safety net: sockets a test opened by means trialnet cannot see (not
through the reactor's C{listen*} or C{connect*} methods, which join the
teardown by themselves) are closed after it and reported as that test's
error, not as trial's dirty reactor at the end of the class.
"""

from __future__ import annotations

import functools
import inspect
import tracemalloc
from collections.abc import Generator
from typing import Any

from twisted.internet import tcp
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import ClientFactory, Factory, Protocol, ServerFactory
from twisted.python.reflect import qual
from twisted.trial.unittest import SynchronousTestCase
from twisted.trial.util import DirtyReactorAggregateError

from trialnet import NetworkTestCase, TeardownError
from trialnet._case import _isGeneratorFunction
from trialnet._core._report import LATE_STEP, SCAN_STEP, UNKNOWN_ORIGIN
from trialnet._sockets._untracked import UNSEEN_LEFT_OPEN, untracked

from ..helpers import (
    Events,
    LoggingFactory,
    Stuck,
    assertCleanRun,
    errorTypes,
    errorValues,
    openFiles,
    portNumber,
    recorders,
    refuses,
    runSample,
    socketsInReactor,
    teardownError,
    warmUp,
)


def plainFactory() -> Any:
    """
    A server factory of plain protocols, as code under test would make.
    """
    return ServerFactory.forProtocol(Protocol)


def rawPort() -> IListeningPort:
    """
    Listen on the IPv4 loopback the way trialnet cannot see: a port made by
    hand rather than by the reactor's C{listenTCP}.
    """
    from twisted.internet import reactor

    port = tcp.Port(0, plainFactory(), interface="127.0.0.1", reactor=reactor)
    port.startListening()
    return port


#: The lines of L{rawPort} (its history may name where the port or where
#: its socket was made).
RAW_PORT_LINES = range(
    inspect.getsourcelines(rawPort)[1],
    inspect.getsourcelines(rawPort)[1] + len(inspect.getsourcelines(rawPort)[0]),
)


def rawClient(port: IListeningPort, factory: ClientFactory) -> None:
    """
    Connect the way trialnet cannot see: a connector made by hand rather than
    by the reactor's C{connectTCP}.
    """
    from twisted.internet import reactor

    tcp.Connector("127.0.0.1", portNumber(port), factory, 30, None, reactor).connect()


class UntrackedTests(SynchronousTestCase):
    """
    What the test opened by means trialnet cannot see and left open.
    """

    def test_portLeftOpen(self) -> None:
        """
        A port made by hand (not with the reactor's C{listenTCP}) and never
        stopped is stopped after the test, which passes: nothing listens
        there afterwards and no file stays open.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                numbers.append(portNumber(rawPort()))

        warmUp()
        before = openFiles()
        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertTrue(refuses(numbers[0]))
        self.assertEqual(openFiles() - before, set())

    def test_portLeftOpenStrict(self) -> None:
        """
        With strict cleanup, a port made by hand and never stopped fails its
        own test with a report that says trialnet could not see it opened
        and, nothing having recorded where, that no line is known (not the
        test method's C{def} line); it is stopped.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            strictCleanup = True

            def test_it(self) -> None:
                numbers.append(portNumber(rawPort()))

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [TeardownError])
        error = teardownError(result)
        self.assertTrue(str(error).startswith(SCAN_STEP + ": 1 thing left open"))
        (leftover,) = error.leftovers
        self.assertEqual(leftover.role, "untracked port")
        self.assertEqual(leftover.local, f"127.0.0.1:{numbers[0]}")
        self.assertEqual(leftover.action, UNSEEN_LEFT_OPEN)
        self.assertIn("opened by means trialnet could not see", str(error))
        self.assertNotIn("the test opened it", str(error))
        if not tracemalloc.is_tracing():
            self.assertEqual(leftover.origin, UNKNOWN_ORIGIN)
            self.assertIn("opened at a line nothing recorded", str(error))
        self.assertTrue(refuses(numbers[0]))

    def test_portOriginTraced(self) -> None:
        """
        While C{tracemalloc} traces, a port made by hand is reported at the
        line of the user's code that made it, from the port's own history.
        """
        wasTracing = tracemalloc.is_tracing()
        if not wasTracing:
            tracemalloc.start(25)
            self.addCleanup(tracemalloc.stop)

        class Sample(NetworkTestCase):
            strictCleanup = True

            def test_it(self) -> None:
                rawPort()

        (leftover,) = teardownError(runSample(Sample)).leftovers

        self.assertEqual(leftover.origin.filename, __file__.replace(".pyc", ".py"))
        self.assertIn(leftover.origin.lineno, RAW_PORT_LINES)

    def test_setUpFailsWithPortOpen(self) -> None:
        """
        A port made by hand in a C{setUp} that then fails (so trial runs no
        C{tearDown}) is stopped once trialnet's own teardown closed what it
        opened: only C{setUp}'s error is reported (with strict cleanup, the
        port is named beside it), nothing listens there afterwards and no
        file stays open.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                self.listen(plainFactory())
                numbers.append(portNumber(rawPort()))
                raise RuntimeError("setUp broke")

            def test_it(self) -> None:
                pass

        class Strict(Sample):
            strictCleanup = True

        warmUp()
        before = openFiles()
        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [RuntimeError])
        self.assertTrue(refuses(numbers[0]))
        self.assertEqual(openFiles() - before, set())

        result = runSample(Strict)
        self.assertEqual(errorTypes(result), [RuntimeError, TeardownError])
        (leftover,) = teardownError(result, 1).leftovers
        self.assertEqual(leftover.role, "untracked port")
        self.assertEqual(leftover.local, f"127.0.0.1:{numbers[1]}")
        self.assertTrue(refuses(numbers[1]))

    def test_asyncSetUpFailsWithPortOpen(self) -> None:
        """
        A port made by hand in an asynchronous C{setUp} that then fails is
        stopped; only C{setUp}'s error is reported.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            async def setUp(self) -> None:  # type: ignore[override]
                numbers.append(portNumber(rawPort()))
                raise RuntimeError("setUp broke")

            def test_it(self) -> None:
                pass

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [RuntimeError])
        self.assertTrue(refuses(numbers[0]))

    def test_tearDownFailsWithPortOpen(self) -> None:
        """
        A port made by hand and left open by a test whose own C{tearDown}
        raises is stopped; only C{tearDown}'s error is reported.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def tearDown(self) -> None:
                raise RuntimeError("tearDown broke")

            def test_it(self) -> None:
                numbers.append(portNumber(rawPort()))

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [RuntimeError])
        self.assertTrue(refuses(numbers[0]))

    def test_lateNetworkNamesItsStep(self) -> None:
        """
        What a network first used in C{tearDown} reports, after C{tearDown},
        says so, and that it is not the test's own C{tearDown} failing: its
        traceback runs through trial's C{tearDown}.
        """
        events = Events()

        class Sample(NetworkTestCase):
            disconnectTimeout = 0.2

            def test_it(self) -> None:
                pass

            async def tearDown(self) -> None:  # type: ignore[override]
                port = self.listen(plainFactory())
                await self.connect(port, LoggingFactory(events, "stuck", Stuck))

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [TeardownError])
        error = teardownError(result)
        self.assertTrue(str(error).startswith(LATE_STEP + ": 1 thing did not close"))
        self.assertIn("not the test's own tearDown failing", LATE_STEP)
        self.assertEqual(socketsInReactor(), set())

    def test_badDisconnectTimeout(self) -> None:
        """
        A test whose C{disconnectTimeout} is not a number of seconds fails
        with the one error that says so, and what it left unseen is still
        closed (within the default bound).
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            disconnectTimeout = float("nan")

            def test_it(self) -> None:
                numbers.append(portNumber(rawPort()))

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [ValueError])
        self.assertIn("disconnectTimeout must be", str(errorValues(result)[0]))
        self.assertTrue(refuses(numbers[0]))

    def test_reactorsOwnWakers(self) -> None:
        """
        What the reactor watches that has no address (its wakers: trial's
        run of the reactor adds a C{SIGCHLD} waker after a test began) is
        not among what the scan looks at.
        """

        class Waker:
            def fileno(self) -> int:
                return 0

        class Port:
            def getHost(self) -> None:
                return None

        waker, port = Waker(), Port()

        class Reactor:
            def getReaders(self) -> list[object]:
                return [waker, port]

            def getWriters(self) -> list[object]:
                return []

        self.assertEqual(untracked(Reactor(), set()), [port])

    def test_connectionLeftOpen(self) -> None:
        """
        A client connected by a connector made by hand and left open closes
        in order after the test, which passes; the server end trialnet
        tracks closes in order too.
        """
        events = Events()
        serverFactory, _ = recorders(events)
        untrackedFactory = LoggingFactory(events, "untracked")

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                rawClient(port, untrackedFactory)
                await self.acceptedProtocol(port)

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(events.count("untracked lost"), 1)
        self.assertEqual(events.count("server lost"), 1)
        self.assertEqual(socketsInReactor(), set())

    def test_stuckConnectionAborted(self) -> None:
        """
        A connection made by hand that cannot close in order (its transport
        holds a producer that never finishes) is aborted at the bound, and
        only it is reported: as opened by means trialnet could not see,
        with what kept it open.
        """
        events = Events()
        untrackedFactory = LoggingFactory(events, "untracked", Stuck)

        class Sample(NetworkTestCase):
            disconnectTimeout = 0.5

            async def test_it(self) -> None:
                port = self.listen(Factory.forProtocol(Protocol))
                rawClient(port, untrackedFactory)
                await self.acceptedProtocol(port)

        result = runSample(Sample)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "untracked client")
        self.assertEqual(leftover.kind, qual(Stuck))
        self.assertIn("registered producer", leftover.cause)
        self.assertTrue(
            leftover.action.startswith("opened by means trialnet could not see; "),
            leftover.action,
        )
        self.assertIn("aborted after", leftover.action)
        self.assertEqual(events.count("untracked lost"), 1)
        self.assertEqual(socketsInReactor(), set())

    def test_closedInTearDown(self) -> None:
        """
        A port the test stops in its own C{tearDown} is not reported.
        """

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                self.port = rawPort()

            def tearDown(self) -> Deferred[object]:  # type: ignore[override]
                return maybeDeferred(self.port.stopListening)

            def test_it(self) -> None:
                pass

        assertCleanRun(self, runSample(Sample))

    def test_generatorSetUpAndTearDownRefused(self) -> None:
        """
        A C{setUp} or C{tearDown} that is a generator function (a forgotten
        C{inlineCallbacks}) is refused by trial as without trialnet, rather
        than passing without its body ever running.
        """
        ran: list[str] = []

        class GeneratorSetUp(NetworkTestCase):
            def setUp(self) -> Generator[None, None, None]:  # type: ignore[override]
                ran.append("setUp")
                yield None

            def test_it(self) -> None:
                pass

        class GeneratorTearDown(NetworkTestCase):
            def tearDown(self) -> Generator[None, None, None]:  # type: ignore[override]
                ran.append("tearDown")
                yield None

            def test_it(self) -> None:
                pass

        for case in (GeneratorSetUp, GeneratorTearDown):
            result = runSample(case)
            (error,) = errorValues(result)
            self.assertIsInstance(error, TypeError)
            self.assertIn("is a generator function", str(error))
        self.assertEqual(ran, [])

    def test_generatorCheckAsInspect(self) -> None:
        """
        The check of C{setUp} and C{tearDown} for a generator function
        answers as L{inspect.isgeneratorfunction} for a plain bound method,
        a partial and a wrapped generator method, and for what is not a
        function at all.
        """

        class Holder:
            def plain(self) -> None:
                pass

            def generator(self) -> Generator[None, None, None]:
                yield None

        holder = Holder()

        @functools.wraps(holder.generator)
        def wrapped() -> Generator[None, None, None]:
            yield None

        candidates: list[object] = [
            holder.plain,
            holder.generator,
            functools.partial(holder.generator),
            functools.partial(Holder.plain, holder),
            wrapped,
            [].append,
            len,
        ]
        for candidate in candidates:
            self.assertEqual(
                _isGeneratorFunction(candidate),
                inspect.isgeneratorfunction(candidate),
                candidate,
            )
        self.assertTrue(_isGeneratorFunction(holder.generator))
        self.assertFalse(_isGeneratorFunction(holder.plain))

    def test_openedBeforeLeftAlone(self) -> None:
        """
        A port that was listening before the test began is neither reported
        nor stopped by trialnet.
        """
        from twisted.internet import reactor

        port = reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
        self.addCleanup(port.stopListening)

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                pass

        result = runSample(Sample)

        # Trial's own janitor still complains, as it would without trialnet.
        self.assertEqual(errorTypes(result), [DirtyReactorAggregateError])
        self.assertTrue(port.connected)  # type: ignore[attr-defined]
