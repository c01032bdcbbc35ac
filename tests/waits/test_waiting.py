"""
Waiting for the other side: C{whenClosed}, C{acceptedProtocol},
C{serverProtocolFor} (also late), and connection pools that close with the
test.
"""

from __future__ import annotations

import socket

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.server import Site

from trialnet import Network, NetworkTestCase

from ..helpers import (
    Events,
    Hello,
    LoggingFactory,
    LoggingProtocol,
    assertCleanRun,
    lostCounts,
    portNumber,
    recorders,
    sample,
)


class WhenClosedTests(SynchronousTestCase):
    """
    L{NetworkTestCase.whenClosed} fires after a tracked end's
    C{connectionLost}.
    """

    def test_bothEnds(self) -> None:
        """
        When the server hangs up, C{whenClosed} of the server end and of the
        client end fire, each after its own C{connectionLost}, and again at
        once when asked after the close.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        seen: list[list[str]] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            client = await case.connect(port, clientFactory)
            server = await case.serverProtocolFor(client)
            server.transport.loseConnection()  # type: ignore[attr-defined]
            await case.whenClosed(server)
            seen.append(list(events.log))
            await case.whenClosed(client)
            seen.append(list(events.log))
            late = case.whenClosed(client)
            case.assertIsNone(case.successResultOf(late))

        result = sample(body)

        assertCleanRun(self, result)
        self.assertIn("server lost", seen[0])
        self.assertIn("client lost", seen[1])

    def test_trackedProtocol(self) -> None:
        """
        C{whenClosed} works for a protocol adopted with C{track}.
        """
        events = Events()
        serverFactory, _ = recorders(events)
        closed: list[bool] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor
            from twisted.internet.endpoints import (
                TCP4ClientEndpoint,
                connectProtocol,
            )

            port = case.listen(serverFactory)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            protocol = case.track(
                await connectProtocol(endpoint, LoggingProtocol(events, "client"))
            )
            protocol.transport.loseConnection()
            await case.whenClosed(protocol)
            closed.append(events.count("client lost") == 1)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(closed, [True])

    def test_neverConnected(self) -> None:
        """
        C{whenClosed} of a protocol instance whose connection attempt then
        failed fires: it has nothing open.
        """
        events = Events()
        fired: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            gone = case.listen(Factory())
            number = portNumber(gone)
            await maybeDeferred(gone.stopListening)
            protocol = LoggingProtocol(events, "client")
            attempt = case.connect(("127.0.0.1", number), protocol)
            case.whenClosed(protocol).addCallback(fired.append)
            await attempt.addErrback(lambda failure: None)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(fired, [None])


class AcceptedProtocolTests(SynchronousTestCase):
    """
    L{NetworkTestCase.acceptedProtocol} hands out what a port accepted from
    clients trialnet did not open.
    """

    def test_oldestUnclaimedFirst(self) -> None:
        """
        Server ends come out in the order their port accepted them, each
        once, skipping one that C{serverProtocolFor} already handed out.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        order: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            client = await case.connect(port, clientFactory)
            claimed = await case.serverProtocolFor(client)
            raw: list[tuple[str, int]] = []
            for _ in range(2):
                sock = socket.create_connection(("127.0.0.1", portNumber(port)))
                case.addCleanup(sock.close)
                raw.append(sock.getsockname())
            first = await case.acceptedProtocol(port)
            second = await case.acceptedProtocol(port)
            order.append(claimed not in (first, second))
            for server in (first, second):
                peer = server.transport.getPeer()  # type: ignore[attr-defined]
                order.append((peer.host, peer.port))
            order.extend(raw)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertIs(order[0], True)
        self.assertEqual(order[1:3], order[3:5])

    def test_waitsForTheNext(self) -> None:
        """
        Asked before anything connected, C{acceptedProtocol} fires once the
        next server end's C{connectionMade} ran.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        made: list[bool] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            waiting = case.acceptedProtocol(port)
            sock = socket.create_connection(("127.0.0.1", portNumber(port)))
            case.addCleanup(sock.close)
            server = await waiting
            made.append(events.log.count("server made") == 1)
            made.append(server is serverFactory.built[0])

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(made, [True, True])


class ClosedWhileWaitingTests(SynchronousTestCase):
    """
    A wait for a server end that the teardown of a L{Network} overtakes.
    """

    def test_networkCancelsItsWaiters(self) -> None:
        """
        A L{Network} used inside a test and closed while C{acceptedProtocol}
        is still awaited fails that wait with C{CancelledError} rather than
        leave it hanging.
        """
        outcomes: list[type[BaseException]] = []

        async def body(case: NetworkTestCase) -> None:
            network = Network()
            port = network.listen(Factory.forProtocol(Protocol))

            async def waitForServer() -> None:
                try:
                    await network.acceptedProtocol(port)
                except CancelledError as e:
                    outcomes.append(type(e))

            waiting = Deferred.fromCoroutine(waitForServer())
            await network.close()
            await waiting

        result = sample(body, timeout=10)

        assertCleanRun(self, result)
        self.assertEqual(outcomes, [CancelledError])


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

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            clients = [await case.connect(port, clientFactory) for _ in range(3)]
            for client in clients:
                server = await case.serverProtocolFor(client)
                matched.append(
                    server.transport.getPeer() == client.transport.getHost()  # type: ignore[attr-defined]
                )
            clients[0].transport.loseConnection()  # type: ignore[attr-defined]
            await clients[0].lost  # type: ignore[attr-defined]
            again = await case.serverProtocolFor(clients[0])
            matched.append(again is serverFactory.built[0])

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(matched, [True] * 4)

    def test_unknownClient(self) -> None:
        """
        A protocol this test did not connect is a C{ValueError}.
        """
        events = Events()

        def body(case: NetworkTestCase) -> None:
            case.assertRaises(
                ValueError, case.serverProtocolFor, LoggingProtocol(events, "x")
            )

        assertCleanRun(self, sample(body))


class LateServerProtocolForTests(SynchronousTestCase):
    """
    L{NetworkTestCase.serverProtocolFor} works after the client closed.
    """

    def test_firstAskedAfterClientClosed(self) -> None:
        """
        Asked for the first time after the client closed, it still finds
        the server end, by the addresses recorded at connect time.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        found: list[bool] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            client = await case.connect(port, clientFactory)
            client.transport.loseConnection()  # type: ignore[attr-defined]
            await case.whenClosed(client)
            server = await case.serverProtocolFor(client)
            found.append(server is serverFactory.built[0])

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(found, [True])
        self.assertEqual(lostCounts(events), (1, 1))


class EndpointFactory:
    """
    Hands out one endpoint for every URI, as C{Agent.usingEndpointFactory}
    wants.
    """

    def __init__(self, endpoint: object) -> None:
        self.endpoint = endpoint

    def endpointForURI(self, uri: object) -> object:
        return self.endpoint


class PoolTests(SynchronousTestCase):
    """
    A persistent L{HTTPConnectionPool} adopted with C{track} ends clean.
    """

    def usePool(self, trackPool: bool) -> tuple[list[object], HTTPConnectionPool]:
        """
        Run a sample that makes two requests through a persistent pool,
        adopting the pool with C{track} or not.
        """
        outcomes: list[object] = []
        pools: list[HTTPConnectionPool] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            hello = Hello()
            site = Site(hello)
            site.noisy = False
            port = case.listen(site)
            pool = HTTPConnectionPool(reactor, persistent=True)
            pools.append(pool)
            if trackPool:
                case.track(pool)
            endpoints = EndpointFactory(case.clientEndpoint(port))
            agent = Agent.usingEndpointFactory(reactor, endpoints, pool=pool)
            url = b"http://127.0.0.1:%d/" % portNumber(port)
            for _ in range(2):
                response = await agent.request(b"GET", url)
                outcomes.append(await readBody(response))
            outcomes.append(len(hello.channels))

        outcomes.append(sample(body))
        return outcomes, pools[0]

    def test_trackedPoolClean(self) -> None:
        """
        Both requests share one pooled connection; the teardown closes it
        and cancels the pool's timer, so trial finds the reactor clean.
        """
        (first, second, connections, result), pool = self.usePool(trackPool=True)

        assertCleanRun(self, result)  # type: ignore[arg-type]
        self.assertEqual((first, second), (b"hello", b"hello"))
        self.assertEqual(connections, 1)
        self.assertEqual(pool._connections, {})
        self.assertEqual(pool._timeouts, {})

    def test_untrackedPoolForgets(self) -> None:
        """
        Without C{track(pool)}, the teardown closes the pooled connection and
        the pool forgets it: its timer is cancelled and its entry removed,
        so trial finds the reactor clean and the pool hands it to no one.
        """
        (first, second, connections, result), pool = self.usePool(trackPool=False)

        assertCleanRun(self, result)  # type: ignore[arg-type]
        self.assertEqual((first, second, connections), (b"hello", b"hello", 1))
        self.assertEqual([list(cached) for cached in pool._connections.values()], [[]])
        self.assertEqual(pool._timeouts, {})
