"""
Datagram links on real UDP sockets: drop, duplicate, reorder and delay,
seeded, each way or one way, and torn down with the test.
"""

# ruff: noqa: N999

from __future__ import annotations

import time

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase
from trialnet._links._datagrams import DatagramLink

from ..helpers import assertPassed, openFiles, sample, socketsInReactor, warmUp


class Collector(DatagramProtocol):
    """
    Keeps every datagram it receives; echoes them if asked.
    """

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.received: list[bytes] = []
        self._waiting: tuple[int, Deferred[None]] | None = None

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        self.received.append(datagram)
        if self.echo:
            self.transport.write(datagram, addr)  # type: ignore[union-attr]
        if self._waiting and len(self.received) >= self._waiting[0]:
            _, waiter = self._waiting
            self._waiting = None
            waiter.callback(None)

    def waitFor(self, count: int) -> Deferred[None]:
        """
        Fire once C{count} datagrams arrived.
        """
        waiter: Deferred[None] = Deferred()
        if len(self.received) >= count:
            waiter.callback(None)
        else:
            self._waiting = (count, waiter)
        return waiter


async def pause(seconds: float) -> None:
    """
    Let the reactor run for C{seconds}.
    """
    await deferLater(reactor, seconds, lambda: None)


class DatagramLinkTests(NetworkTestCase):
    """
    L{DatagramLink}'s conditions, on UDP over IPv4 loopback.
    """

    def setUpLink(
        self, seed: int | None = None, echo: bool = False
    ) -> tuple[DatagramLink, Collector, Collector]:
        server = Collector(echo)
        link = self.datagramLink(self.listenUDP(server), seed=seed)
        client = Collector()
        self.listenUDP(client)
        return link, server, client

    def sendAll(self, link: DatagramLink, client: Collector, count: int) -> list[bytes]:
        address = link.getHost()
        sent = [b"%d" % index for index in range(count)]
        for datagram in sent:
            client.transport.write(  # type: ignore[union-attr]
                datagram,
                (address.host, address.port),  # type: ignore[attr-defined]
            )
        return sent

    async def test_passThrough(self) -> None:
        """
        Without conditions, datagrams reach the server, and its answers the
        client, through the link.
        """
        link, server, client = self.setUpLink(echo=True)
        sent = self.sendAll(link, client, 5)
        await client.waitFor(5)
        self.assertEqual(sorted(server.received), sorted(sent))
        self.assertEqual(sorted(client.received), sorted(sent))

    async def test_dropAll(self) -> None:
        """
        With a drop probability of 1, nothing arrives.
        """
        link, server, client = self.setUpLink()
        link.drop(1.0)
        self.sendAll(link, client, 5)
        await pause(0.2)
        self.assertEqual(server.received, [])

    async def test_dropSeeded(self) -> None:
        """
        Half dropped: some arrive, not all, and the same seed loses the same
        datagrams.
        """
        arrived = []
        for _ in range(2):
            link, server, client = self.setUpLink(seed=99)
            link.upstream.drop(0.5)
            self.sendAll(link, client, 40)
            await pause(0.3)
            arrived.append(sorted(server.received, key=int))
        self.assertEqual(arrived[0], arrived[1])
        self.assertTrue(0 < len(arrived[0]) < 40, arrived[0])

    async def test_duplicate(self) -> None:
        """
        With a duplicate probability of 1, each datagram arrives twice.
        """
        link, server, client = self.setUpLink()
        link.duplicate(1.0)
        sent = self.sendAll(link, client, 3)
        await server.waitFor(6)
        self.assertEqual(sorted(server.received), sorted(sent * 2))

    async def test_reorder(self) -> None:
        """
        Reordered in windows of 10, 10 datagrams all arrive, not in the
        order sent (for this seed), the same way for the same seed.
        """
        orders = []
        for _ in range(2):
            link, server, client = self.setUpLink(seed=5)
            link.reorder(10)
            sent = self.sendAll(link, client, 10)
            await server.waitFor(10)
            orders.append(server.received)
            self.assertEqual(sorted(server.received), sorted(sent))
            self.assertNotEqual(server.received, sent)
        self.assertEqual(orders[0], orders[1])

    async def test_delayOneWay(self) -> None:
        """
        A delay upstream holds the request back at least that long, and
        leaves the answer alone.
        """
        link, server, client = self.setUpLink(echo=True)
        link.upstream.delay(0.3)
        started = time.monotonic()
        self.sendAll(link, client, 1)
        await pause(0.1)
        self.assertEqual(server.received, [])
        await client.waitFor(1)
        self.assertGreaterEqual(time.monotonic() - started, 0.29)

    async def test_clear(self) -> None:
        """
        C{clear()} stops dropping.
        """
        link, server, client = self.setUpLink()
        link.drop(1.0)
        link.clear()
        self.sendAll(link, client, 3)
        await server.waitFor(3)

    def test_refused(self) -> None:
        """
        Bad conditions raise C{TypeError} or C{ValueError}; a stream port is
        not a datagram link's target.
        """
        link, _, _ = self.setUpLink()
        self.assertRaises(ValueError, link.drop, 1.5)
        self.assertRaises(TypeError, link.drop, "half")
        self.assertRaises(ValueError, link.reorder, 0)
        self.assertRaises(ValueError, link.delay, -1)
        port = self.listen(Factory.forProtocol(Protocol))
        self.assertRaises(ValueError, self.datagramLink, port)
        self.assertRaises(ValueError, self.link, self.listenUDP(Collector()))
        self.assertRaises(TypeError, self.datagramLink, object())


class DatagramLinkTeardownTests(SynchronousTestCase):
    """
    A datagram link's sockets and timers go with the test.
    """

    def test_closesEverything(self) -> None:
        """
        Datagrams still on their way are cancelled, and the relay's sockets
        closed: the test passes with nothing left.
        """
        warmUp()
        before = openFiles()

        async def body(case: NetworkTestCase) -> None:
            server = Collector()
            link = case.datagramLink(case.listenUDP(server), seed=1)
            client = Collector()
            case.listenUDP(client)
            link.delay(30)
            address = link.getHost()
            client.transport.write(  # type: ignore[union-attr]
                b"late",
                (address.host, address.port),  # type: ignore[attr-defined]
            )
            await pause(0.05)

        assertPassed(self, sample(body))
        self.assertEqual(socketsInReactor(), set())
        self.assertEqual(openFiles() - before, set())
