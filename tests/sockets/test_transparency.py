"""
What the application sees over real loopback sockets: its own factories and
protocols, and the reactor's real transports.
"""

from __future__ import annotations

from twisted.internet import tcp
from twisted.internet.interfaces import IProtocol
from twisted.internet.protocol import Factory
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    LoggingFactory,
    LoggingProtocol,
    assertCleanRun,
    errorTypes,
    errorValues,
    openPair,
    recorders,
    sample,
)


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

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            ports.append(port.factory)  # type: ignore[attr-defined]
            await case.serverProtocolFor(await case.connect(port, clientFactory))

        result = sample(body)

        assertCleanRun(self, result)
        self.assertIs(ports[0], serverFactory)
        for role in ("server", "client"):
            self.assertEqual(events.count(f"{role} factory started"), 1)
            self.assertEqual(events.count(f"{role} factory stopped"), 1)
        self.assertNotIn("buildProtocol", vars(serverFactory))

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

        async def body(case: NetworkTestCase) -> None:
            site = Site(Hello())
            site.noisy = False
            port = case.listen(site)
            client = await case.connect(port, Conversation())
            client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await client.waitForDelimiter(b"\r\n\r\n")
            server = await case.serverProtocolFor(client)
            seen.append(type(server).__name__)
            assert client.transport is not None
            client.transport.loseConnection()
            await case.whenClosed(server)
            seen.append("closed")

        result = sample(body)

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

        async def body(case: NetworkTestCase) -> None:
            _, client, server = await openPair(case, serverFactory, clientFactory)
            seen.extend([client, server])
            case.assertIsInstance(client.transport, tcp.Client)  # type: ignore[attr-defined]
            case.assertIsInstance(server.transport, tcp.Server)  # type: ignore[attr-defined]
            client.transport.getHandle().fileno()  # type: ignore[attr-defined]

        result = sample(body)

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

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            protocol = LoggingProtocol(events, "client")
            connected = await case.connect(port, protocol)
            case.assertIs(connected, protocol)
            case.assertRaises(ValueError, case.connect, port, protocol)

        result = sample(body)

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

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(SlottedFactory())
            client = await case.connect(port, LoggingFactory(clientEvents, "client"))
            await client.lost  # type: ignore[attr-defined]

        result = sample(body, timeout=10)

        self.assertEqual(errorTypes(result), [TypeError])
        self.assertIn("__slots__", str(errorValues(result)[0]))
