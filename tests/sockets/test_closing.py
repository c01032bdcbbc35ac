"""
Closing at the end of a test, over real loopback sockets: what passes leaves
every port and connection closed and waited for, and what does not close in
time is aborted and reported. Sample L{NetworkTestCase}s run into a result,
and the tests assert on what it recorded and on what happened to the sockets.
"""

from __future__ import annotations

import time

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.error import ConnectError, ConnectionRefusedError
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, connectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase, TeardownError

from ..helpers import (
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    assertCleanRun,
    deferLaterTurn,
    errorTypes,
    lostCounts,
    openFiles,
    openPair,
    portNumber,
    recorders,
    runSample,
    sample,
    teardownError,
)


class RaisesWhenLost(LoggingProtocol):
    """
    A recorder whose C{connectionLost} raises.
    """

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        raise ValueError("connectionLost broke")


class OrderlyTeardownTests(SynchronousTestCase):
    """
    Tests that pass leave every port and connection closed and waited for.
    """

    def test_blogScenario(self) -> None:
        """
        The port, the client and the server side have all closed by the time
        the test's run returns: the three Deferreds of the blog post.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)

        result = sample(body)

        assertCleanRun(self, result)
        for event in ("server lost", "client lost", "server factory stopped"):
            self.assertEqual(events.count(event), 1, event)

    def test_setUpFailsAfterConnect(self) -> None:
        """
        When setUp fails after connecting, the test errors with setUp's own
        error and the connection is closed anyway.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        class Sample(NetworkTestCase):
            async def setUp(self) -> None:  # type: ignore[override]
                await openPair(self, serverFactory, clientFactory)
                raise RuntimeError("setUp broke")

            def test_it(self) -> None:
                pass

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [RuntimeError])
        self.assertEqual(lostCounts(events), (1, 1))

    def test_bodyFails(self) -> None:
        """
        A failing test body is reported as its own failure, and its
        connection is closed anyway.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)
            case.fail("the body failed")

        result = sample(body)

        self.assertEqual((len(result.failures), result.errors), (1, []))
        self.assertEqual(lostCounts(events), (1, 1))

    def test_refusedConnection(self) -> None:
        """
        A refused connection fails with the reactor's own error, the client
        factory hears of it once, and nothing is left for the teardown.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            number = portNumber(port)
            await maybeDeferred(port.stopListening)
            await case.assertFailure(
                case.connect(("127.0.0.1", number), clientFactory),
                ConnectionRefusedError,
            )

        before = openFiles()
        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(events.count("clientConnectionFailed"), 1)
        self.assertEqual(events.count("client made"), 0)
        self.assertEqual(openFiles() - before, set())

    def test_testClosesEverythingItself(self) -> None:
        """
        A test that starts closing its port (twice) and connection itself,
        without waiting, still ends with both closed and no error.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            port, client, _ = await openPair(case, serverFactory, clientFactory)
            port.stopListening()
            port.stopListening()
            client.transport.loseConnection()  # type: ignore[attr-defined]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(events.count("server factory stopped"), 1)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_halfClosedServer(self) -> None:
        """
        A server protocol that supports half-close hears C{readConnectionLost}
        (not C{connectionLost}) when the client half-closes, and the teardown
        still closes it.
        """
        events = Events()

        @implementer(IHalfCloseableProtocol)
        class HalfCloseable(LoggingProtocol):
            def readConnectionLost(self) -> None:
                self.events.log.append("server read lost")
                assert self.halfClosed is not None
                self.halfClosed.callback(None)

            def writeConnectionLost(self) -> None:
                pass

            halfClosed: Deferred[None] | None = None

        serverFactory = LoggingFactory(events, "server", HalfCloseable)
        clientFactory = LoggingFactory(events, "client")

        async def body(case: NetworkTestCase) -> None:
            _, client, server = await openPair(case, serverFactory, clientFactory)
            halfClosed: Deferred[None] = Deferred()
            server.halfClosed = halfClosed  # type: ignore[attr-defined]
            client.transport.loseWriteConnection()  # type: ignore[attr-defined]
            await halfClosed

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(events.count("server read lost"), 1)
        self.assertEqual(events.count("server lost"), 1)

    def test_pausedClientFullBuffer(self) -> None:
        """
        A client that stopped reading while the server filled its buffers
        still closes, and so does the server.
        """
        events = Events()

        class Floods(LoggingProtocol):
            def connectionMade(self) -> None:
                super().connectionMade()
                self.transport.write(b"x" * 8_000_000)  # type: ignore[union-attr]

        class Paused(LoggingProtocol):
            def connectionMade(self) -> None:
                super().connectionMade()
                self.transport.pauseProducing()  # type: ignore[union-attr]

        serverFactory = LoggingFactory(events, "server", Floods)
        clientFactory = LoggingFactory(events, "client", Paused)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)

        before = openFiles()
        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(openFiles() - before, set())

    def test_connectionLostRaises(self) -> None:
        """
        An exception from a server protocol's C{connectionLost} is reported
        as the test's error, once, and does not stop the teardown.
        """
        self.assertOneErrorFromConnectionLost(RaisesWhenLost, LoggingProtocol)

    def test_clientConnectionLostRaises(self) -> None:
        """
        An exception from a client protocol's C{connectionLost}, after which
        the reactor never tells the connector (nor stops the factory), is
        reported as the test's error, once, and the teardown does not wait
        for the factory until its bound.
        """
        started = time.monotonic()
        self.assertOneErrorFromConnectionLost(LoggingProtocol, RaisesWhenLost)
        self.assertLess(time.monotonic() - started, 2.0)

    def assertOneErrorFromConnectionLost(
        self,
        serverProtocol: type[LoggingProtocol],
        clientProtocol: type[LoggingProtocol],
    ) -> None:
        events = Events()
        serverFactory = LoggingFactory(events, "server", serverProtocol)
        clientFactory = LoggingFactory(events, "client", clientProtocol)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)

        result = sample(body, disconnectTimeout=3.0)

        self.assertEqual(errorTypes(result), [ValueError])
        self.assertEqual(lostCounts(events), (1, 1))

    def test_serverBuildProtocolNone(self) -> None:
        """
        A server factory whose C{buildProtocol} returns L{None} refuses the
        connection: the client sees it close, and nothing is reported.
        """
        events = Events()
        clientFactory = LoggingFactory(events, "client")

        class Refuses(Factory):
            def buildProtocol(self, addr: object) -> None:
                events.log.append("refused")

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Refuses())
            client = await case.connect(port, clientFactory)
            await client.lost  # type: ignore[attr-defined]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(events.log.count("refused"), 1)

    def test_clientBuildProtocolNone(self) -> None:
        """
        A client factory whose C{buildProtocol} returns L{None} makes the
        connect fail with an error that says so, and the factory still hears
        C{clientConnectionLost}.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Refuses(LoggingFactory):
            def buildProtocol(self, addr: object) -> None:  # type: ignore[override]
                return None

        clientFactory = Refuses(events, "client")
        failures: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            error = await case.assertFailure(
                case.connect(port, clientFactory), ConnectError
            )
            failures.append(str(error))

        result = sample(body)

        assertCleanRun(self, result)
        self.assertIn("buildProtocol returned None", failures[0])
        self.assertEqual(events.count("clientConnectionLost"), 1)


class StuckTeardownTests(SynchronousTestCase):
    """
    What does not close in time is aborted, reported by name, and released.
    """

    def test_externalClientHoldsOn(self) -> None:
        """
        A server whose peer is not tracked and never reads, while the server
        holds a producer, is aborted and reported with its role, peer and
        own address.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Stuck)
        holder: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            import socket

            port = case.listen(serverFactory)
            raw = socket.create_connection(("127.0.0.1", portNumber(port)))
            case.addCleanup(raw.close)
            holder.append(raw.getsockname()[1])
            holder.append(portNumber(port))
            while not serverFactory.built:
                await deferLaterTurn()

        result = sample(body, disconnectTimeout=0.3)

        self.assertEqual(errorTypes(result), [TeardownError])
        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "server")
        self.assertEqual(leftover.peer, f"127.0.0.1:{holder[0]}")
        # Asked for only now, for the report.
        self.assertEqual(leftover.local, f"127.0.0.1:{holder[1]}")
