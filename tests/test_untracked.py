"""
The last safety net: sockets a test opened by means trialnet cannot see (not
through the reactor's C{listen*} or C{connect*} methods, which join the
teardown by themselves) are closed after it and reported as that test's
error, not as trial's dirty reactor at the end of the class.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import tcp
from twisted.internet.defer import Deferred, inlineCallbacks, maybeDeferred, succeed
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.trial.unittest import SynchronousTestCase
from twisted.trial.util import DirtyReactorAggregateError

from trialnet import NetworkTestCase, TeardownError

from .helpers import (
    Events,
    LoggingFactory,
    assertCleanRun,
    errorTypes,
    errorValues,
    openFiles,
    portNumber,
    recorders,
    refuses,
    runSample,
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


def rawClient(port: IListeningPort, factory: LoggingFactory) -> None:
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
        stopped fails its own test with a report naming it, and it is stopped: nothing
        listens there afterwards and no file stays open.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                numbers.append(portNumber(rawPort()))

        warmUp()
        before = openFiles()
        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [TeardownError])
        error = teardownError(result)
        # Nothing waited for it: the report says so, not "waited 0.00s".
        self.assertIsNone(error.waited)
        self.assertIn("left open after the test", str(error))
        (leftover,) = error.leftovers
        self.assertEqual(leftover.role, "untracked port")
        self.assertEqual(leftover.local, f"127.0.0.1:{numbers[0]}")
        self.assertEqual(
            (leftover.origin.filename, leftover.origin.lineno),
            (__file__.replace(".pyc", ".py"), Sample.test_it.__code__.co_firstlineno),
        )
        self.assertIn("without trialnet", leftover.action)
        self.assertTrue(refuses(numbers[0]))
        self.assertEqual(openFiles() - before, set())

    def test_setUpFailsWithPortOpen(self) -> None:
        """
        A port made by hand in a C{setUp} that then
        fails (so trial runs no C{tearDown}) is stopped, and named in a
        report beside the C{setUp} error, with C{setUp}'s line, once
        trialnet's own teardown closed what it opened (so only that port is
        named): no dirty reactor, nothing listens there afterwards and no
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

        warmUp()
        before = openFiles()
        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [RuntimeError, TeardownError])
        (leftover,) = teardownError(result, 1).leftovers
        self.assertEqual(leftover.role, "untracked port")
        self.assertEqual(leftover.local, f"127.0.0.1:{numbers[0]}")
        self.assertEqual(leftover.origin.lineno, Sample.setUp.__code__.co_firstlineno)
        self.assertTrue(refuses(numbers[0]))
        self.assertEqual(openFiles() - before, set())

    def test_asyncSetUpFailsWithPortOpen(self) -> None:
        """
        A port made by hand in an asynchronous C{setUp} that then fails is
        stopped, and named in a report beside the C{setUp} error, with
        C{setUp}'s line.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            async def setUp(self) -> None:  # type: ignore[override]
                numbers.append(portNumber(rawPort()))
                raise RuntimeError("setUp broke")

            def test_it(self) -> None:
                pass

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [RuntimeError, TeardownError])
        (leftover,) = teardownError(result, 1).leftovers
        self.assertEqual(leftover.origin.lineno, Sample.setUp.__code__.co_firstlineno)
        self.assertTrue(refuses(numbers[0]))

    def test_tearDownFailsWithPortOpen(self) -> None:
        """
        A port made by hand and left open by a test whose own C{tearDown}
        raises is stopped, and named in a report beside the C{tearDown}
        error, with the test method's line.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def tearDown(self) -> None:
                raise RuntimeError("tearDown broke")

            def test_it(self) -> None:
                numbers.append(portNumber(rawPort()))

        result = runSample(Sample)

        # The teardown's report comes first; tearDown's own error is logged.
        self.assertEqual(errorTypes(result), [TeardownError, RuntimeError])
        (leftover,) = teardownError(result, 0).leftovers
        self.assertEqual(leftover.origin.lineno, Sample.test_it.__code__.co_firstlineno)
        self.assertTrue(refuses(numbers[0]))

    def test_connectionLeftOpen(self) -> None:
        """
        A client connected by a connector made by hand and left open is
        aborted and named with its protocol; the server end trialnet tracks
        still closes in order.
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

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "untracked connection")
        self.assertIn("tests.helpers.LoggingProtocol", leftover.kind)
        self.assertEqual(events.count("untracked lost"), 1)
        self.assertEqual(events.count("server lost"), 1)

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

    def test_decoratedMethodOrigin(self) -> None:
        """
        A port left open by a test method wrapped by a decorator (here
        C{inlineCallbacks}) is reported at the line of the method itself,
        not inside the decorator.
        """

        class Sample(NetworkTestCase):
            @inlineCallbacks
            def test_it(self) -> Generator[Deferred[object], object, None]:
                rawPort()
                yield succeed(None)

        (leftover,) = teardownError(runSample(Sample)).leftovers

        self.assertEqual(
            (leftover.origin.filename, leftover.origin.lineno),
            (
                __file__.replace(".pyc", ".py"),
                Sample.test_it.__wrapped__.__code__.co_firstlineno,  # type: ignore[attr-defined]
            ),
        )

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
