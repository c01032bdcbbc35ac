"""
The teardown over real loopback sockets: sample L{NetworkTestCase}s run into
a result, and the tests assert on what it recorded and on what happened to
the sockets.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet import tcp
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.error import ConnectError, ConnectionRefusedError
from twisted.internet.interfaces import (
    IHalfCloseableProtocol,
    IProtocol,
)
from twisted.internet.protocol import Factory, connectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase, TeardownError

from .helpers import (
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    assertCleanRun,
    deferLaterTurn,
    errorTypes,
    errorValues,
    lostCounts,
    openFileCount,
    openPair,
    portNumber,
    recorders,
    runSample,
    teardownError,
    warmUp,
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

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                await openPair(self, serverFactory, clientFactory)

        result = runSample(Sample)

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

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                await openPair(self, serverFactory, clientFactory)
                self.fail("the body failed")

        result = runSample(Sample)

        self.assertEqual((len(result.failures), result.errors), (1, []))
        self.assertEqual(lostCounts(events), (1, 1))

    def test_refusedConnection(self) -> None:
        """
        A refused connection fails with the reactor's own error, the client
        factory hears of it once, and nothing is left for the teardown.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                number = portNumber(port)
                await maybeDeferred(port.stopListening)
                await self.assertFailure(
                    self.connect(("127.0.0.1", number), clientFactory),
                    ConnectionRefusedError,
                )

        before = openFileCount()
        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(events.count("clientConnectionFailed"), 1)
        self.assertEqual(events.count("client made"), 0)
        self.assertEqual(openFileCount(), before)

    def test_testClosesEverythingItself(self) -> None:
        """
        A test that starts closing its port (twice) and connection itself,
        without waiting, still ends with both closed and no error.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port, client, _ = await openPair(self, serverFactory, clientFactory)
                port.stopListening()
                port.stopListening()
                client.transport.loseConnection()  # type: ignore[attr-defined]

        result = runSample(Sample)

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

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                _, client, server = await openPair(self, serverFactory, clientFactory)
                halfClosed: Deferred[None] = Deferred()
                server.halfClosed = halfClosed  # type: ignore[attr-defined]
                client.transport.loseWriteConnection()  # type: ignore[attr-defined]
                await halfClosed

        result = runSample(Sample)

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

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                await openPair(self, serverFactory, clientFactory)

        before = openFileCount()
        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(openFileCount(), before)

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

        class Sample(NetworkTestCase):
            disconnectTimeout = 3.0

            async def test_it(self) -> None:
                await openPair(self, serverFactory, clientFactory)

        result = runSample(Sample)

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

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(Refuses())
                client = await self.connect(port, clientFactory)
                await client.lost  # type: ignore[attr-defined]

        result = runSample(Sample)

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

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                error = await self.assertFailure(
                    self.connect(port, clientFactory), ConnectError
                )
                failures.append(str(error))

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertIn("buildProtocol returned None", failures[0])
        self.assertEqual(events.count("clientConnectionLost"), 1)


class ApplicationCodeInTeardownTests(SynchronousTestCase):
    """
    Application callbacks that run during the teardown cannot derail it.
    """

    def test_factoryReconnects(self) -> None:
        """
        A client factory that connects its connector again gets a new
        protocol for the new connection, and the teardown closes that one
        too.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Reconnects(LoggingFactory):
            def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
                super().clientConnectionLost(connector, reason)
                if len(self.built) == 1:
                    connector.connect()

        clientFactory = Reconnects(events, "client")

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                client = await self.connect(port, clientFactory)
                client.transport.loseConnection()  # type: ignore[attr-defined]
                while events.count("server made") < 2:
                    await deferLaterTurn()

        result = runSample(Sample)

        assertCleanRun(self, result)
        first, second = clientFactory.built
        self.assertIsNot(first, second)
        self.assertEqual(lostCounts(events), (2, 2))

    def test_factoryReconnectsForever(self) -> None:
        """
        A client factory that connects again every time its connection is
        lost or refused, also during the teardown, cannot hold the teardown
        past its bound: its connector is stopped, the factory is reported,
        and no socket is left open.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Reconnects(LoggingFactory):
            def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
                super().clientConnectionLost(connector, reason)
                connector.connect()

            def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
                super().clientConnectionFailed(connector, reason)
                connector.connect()

        clientFactory = Reconnects(events, "client")

        class Sample(NetworkTestCase):
            disconnectTimeout = 0.3

            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                await self.connect(port, clientFactory)

        warmUp()
        before = openFileCount()
        started = time.monotonic()
        result = runSample(Sample)

        self.assertLess(time.monotonic() - started, 0.3 + 3.0)
        leftovers = teardownError(result).leftovers
        self.assertIn("Reconnects", leftovers[-1].kind)
        self.assertIn("still running", leftovers[-1].action)
        self.assertEqual(openFileCount(), before)


class TransparencyTests(SynchronousTestCase):
    """
    The application sees its own factories and protocols and the reactor's
    real transports.
    """

    def test_factoryStartsAndStopsOnce(self) -> None:
        """
        Server and client factories get C{doStart} and C{doStop} once each,
        and the port holds the application's own factory.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        ports: list[object] = []

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                ports.append(port.factory)  # type: ignore[attr-defined]
                await self.serverProtocolFor(await self.connect(port, clientFactory))

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertIs(ports[0], serverFactory)
        for role in ("server", "client"):
            self.assertEqual(events.count(f"{role} factory started"), 1)
            self.assertEqual(events.count(f"{role} factory stopped"), 1)
        self.assertNotIn("buildProtocol", vars(serverFactory))

    def test_clientFactoryCallbacksInOrder(self) -> None:
        """
        A C{ClientFactory} hears C{startedConnecting} and
        C{clientConnectionLost} around its protocol's life, as with
        C{connectTCP}.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                # Added before the network exists, so it runs after its close.
                self.addCleanup(events.log.append, "teardown finished")
                port = self.listen(serverFactory)
                await self.connect(port, clientFactory)

        result = runSample(Sample)

        assertCleanRun(self, result)
        clientEvents = [e for e in events.log if not e.startswith("server")]
        self.assertEqual(
            clientEvents,
            [
                "client factory started",
                "startedConnecting",
                "client made",
                "client lost",
                "clientConnectionLost",
                "client factory stopped",
                "teardown finished",
            ],
        )

    def test_clientFactoryOrderMatchesReactor(self) -> None:
        """
        Through a connection the test closes and one that is refused, a
        C{ClientFactory} hears the same callbacks in the same order through
        C{connect} as through the reactor's own C{connectTCP}.
        """

        def clientEvents(throughTrialnet: bool) -> list[str]:
            events = Events()
            serverFactory, clientFactory = recorders(events)

            async def untilLogged(event: str) -> None:
                while event not in events.log:
                    await deferLaterTurn()

            class Sample(NetworkTestCase):
                async def test_it(self) -> None:
                    from twisted.internet import reactor

                    port = self.listen(serverFactory)
                    gone = self.listen(Factory())
                    refused = portNumber(gone)
                    await maybeDeferred(gone.stopListening)
                    for number in (portNumber(port), refused):
                        if throughTrialnet:
                            attempt = self.connect(("127.0.0.1", number), clientFactory)
                            attempt.addErrback(lambda failure: None)
                        else:
                            self.track(
                                reactor.connectTCP("127.0.0.1", number, clientFactory)
                            )
                        if number == refused:
                            await untilLogged("clientConnectionFailed")
                            continue
                        await untilLogged("client made")
                        clientFactory.built[0].transport.loseConnection()  # type: ignore[union-attr]
                        await untilLogged("clientConnectionLost")

            result = runSample(Sample)
            assertCleanRun(self, result)
            return [e for e in events.log if not e.startswith("server")]

        self.assertEqual(clientEvents(True), clientEvents(False))
        self.assertIn("clientConnectionFailed", clientEvents(True))

    def test_siteServerEndTracked(self) -> None:
        """
        The server end of a C{twisted.web} L{Site}, a proxy whose protocol
        methods are data descriptors (so instance attributes cannot shadow
        them), is tracked like any other: C{serverProtocolFor} finds it once
        its C{connectionMade} ran, C{whenClosed} fires when it closes, and
        the run is clean.
        """
        from twisted.web.resource import Resource
        from twisted.web.server import Request, Site

        from trialnet import Recorder as Conversation

        seen: list[object] = []

        class Hello(Resource):
            isLeaf = True

            def render_GET(self, request: Request) -> bytes:
                return b"hello"

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                site = Site(Hello())
                site.noisy = False
                port = self.listen(site)
                client = await self.connect(port, Conversation())
                client.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # type: ignore[attr-defined]
                await client.waitForDelimiter(b"\r\n\r\n")  # type: ignore[attr-defined]
                server = await self.serverProtocolFor(client)
                seen.append(type(server).__name__)
                client.transport.loseConnection()  # type: ignore[attr-defined]
                await self.whenClosed(server)
                seen.append("closed")

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(seen, ["_GenericHTTPChannelProtocol", "closed"])

    def test_realTransports(self) -> None:
        """
        Both ends keep the reactor's own TCP transports, and their methods
        are the protocol's own again after the teardown.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        seen: list[object] = []

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                _, client, server = await openPair(self, serverFactory, clientFactory)
                seen.extend([client, server])
                self.assertIsInstance(client.transport, tcp.Client)  # type: ignore[attr-defined]
                self.assertIsInstance(server.transport, tcp.Server)  # type: ignore[attr-defined]
                client.transport.getHandle().fileno()  # type: ignore[attr-defined]

        result = runSample(Sample)

        assertCleanRun(self, result)
        for protocol in seen:
            self.assertEqual(
                {"makeConnection", "connectionLost"} & set(vars(protocol)), set()
            )

    def test_protocolInstance(self) -> None:
        """
        A protocol instance can be connected directly; connecting it a
        second time while it is connected is refused before anything opens.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                protocol = LoggingProtocol(events, "client")
                connected = await self.connect(port, protocol)
                self.assertIs(connected, protocol)
                self.assertRaises(ValueError, self.connect, port, protocol)

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(events.count("client lost"), 1)

    def test_slotsProtocolRejected(self) -> None:
        """
        A server protocol without C{__dict__} cannot be observed: its
        connection is refused and the test errors with a C{TypeError} that
        says why, instead of hanging.
        """

        @implementer(IProtocol)
        class Slotted:
            __slots__ = ("transport",)

            def makeConnection(self, transport: object) -> None:
                self.transport = transport

            def connectionMade(self) -> None:
                pass

            def dataReceived(self, data: bytes) -> None:
                pass

            def connectionLost(self, reason: object) -> None:
                pass

        class SlottedFactory(Factory):
            def buildProtocol(self, addr: object) -> Slotted:  # type: ignore[override]
                return Slotted()

        clientEvents = Events()

        class Sample(NetworkTestCase):
            timeout = 10

            async def test_it(self) -> None:
                port = self.listen(SlottedFactory())
                client = await self.connect(
                    port, LoggingFactory(clientEvents, "client")
                )
                await client.lost  # type: ignore[attr-defined]

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [TypeError])
        self.assertIn("__slots__", str(errorValues(result)[0]))


class ServerProtocolForTests(SynchronousTestCase):
    """
    L{NetworkTestCase.serverProtocolFor} finds the other end of a client.
    """

    def test_matchesEachClient(self) -> None:
        """
        Each of several clients is matched with the server protocol whose
        peer is that client, also after the client closed.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        matched: list[bool] = []

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                port = self.listen(serverFactory)
                clients = [await self.connect(port, clientFactory) for _ in range(3)]
                for client in clients:
                    server = await self.serverProtocolFor(client)
                    matched.append(
                        server.transport.getPeer() == client.transport.getHost()  # type: ignore[attr-defined]
                    )
                clients[0].transport.loseConnection()  # type: ignore[attr-defined]
                await clients[0].lost  # type: ignore[attr-defined]
                again = await self.serverProtocolFor(clients[0])
                matched.append(again is serverFactory.built[0])

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(matched, [True] * 4)

    def test_unknownClient(self) -> None:
        """
        A protocol this test did not connect is a C{ValueError}.
        """
        events = Events()

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                self.assertRaises(
                    ValueError, self.serverProtocolFor, LoggingProtocol(events, "x")
                )

        assertCleanRun(self, runSample(Sample))


class StuckTeardownTests(SynchronousTestCase):
    """
    What does not close in time is aborted, reported by name, and released.
    """

    def test_externalClientHoldsOn(self) -> None:
        """
        A server whose peer is not tracked and never reads, while the server
        holds a producer, is aborted and reported with its role and peer.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Stuck)
        holder: list[object] = []

        class Sample(NetworkTestCase):
            disconnectTimeout = 0.3

            async def test_it(self) -> None:
                import socket

                port = self.listen(serverFactory)
                raw = socket.create_connection(("127.0.0.1", portNumber(port)))
                self.addCleanup(raw.close)
                holder.append(raw.getsockname()[1])
                while not serverFactory.built:
                    await deferLaterTurn()

        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [TeardownError])
        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "server")
        self.assertEqual(leftover.peer, f"127.0.0.1:{holder[0]}")


class TrackTests(SynchronousTestCase):
    """
    L{NetworkTestCase.track} adopts what the code under test opened itself.
    """

    def test_trackedPortAndConnector(self) -> None:
        """
        A port and a connector opened straight from the reactor are closed,
        with their connections, and trial finds the reactor clean.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                from twisted.internet import reactor

                port = self.track(
                    reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
                )
                connector = self.track(
                    reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
                )
                self.assertEqual(connector.state, "connecting")  # type: ignore[attr-defined]
                while len(serverFactory.built) < 1 or len(clientFactory.built) < 1:
                    await deferLaterTurn()

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_trackedProtocol(self) -> None:
        """
        A connected protocol adopted with C{track} is closed and waited for.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                from twisted.internet import reactor
                from twisted.internet.endpoints import (
                    TCP4ClientEndpoint,
                    connectProtocol,
                )

                port = self.listen(serverFactory)
                endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
                protocol = await connectProtocol(
                    endpoint, LoggingProtocol(events, "client")
                )
                self.assertIs(self.track(protocol), protocol)

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(events.count("client lost"), 1)

    def test_untrackedPortReported(self) -> None:
        """
        Without C{track}, a port opened straight from the reactor and left
        open is reported as untracked: the tests above would fail if tracking
        did nothing.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                from twisted.internet import reactor

                reactor.listenTCP(0, serverFactory, interface="127.0.0.1")

        result = runSample(Sample)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "untracked port")
