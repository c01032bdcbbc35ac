"""
Links on real sockets: every condition, over TCP, UNIX and TLS, through one
mixin of tests.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, cast

from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectError
from twisted.internet.interfaces import (
    IHalfCloseableProtocol,
    IListeningPort,
    IPushProducer,
    ITCPTransport,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from zope.interface import implementer

from trialnet import NetworkTestCase, Recorder, RecorderFactory
from trialnet._links._links import Link

from ..transports import TCP4, TCP6, TLS, UNIX, StreamTransport


async def pause(seconds: float) -> None:
    """
    Let the reactor run for C{seconds}.
    """
    await deferLater(reactor, seconds, lambda: None)


def now() -> float:
    """
    The reactor's time.
    """
    return reactor.seconds()


class LinkConditionsMixin:
    """
    Each condition of a link, on one stream transport.
    """

    transport: ClassVar[StreamTransport]
    #: Whether the bytes on the wire are the application's (not under TLS,
    #: which hands whole records over, and whose close waits for the peer's).
    plainBytes: ClassVar[bool] = True

    def listenTarget(self) -> IListeningPort:
        case: NetworkTestCase = self  # type: ignore[assignment]
        return self.transport.listen(case, RecorderFactory())

    async def pair(self, seed: int | None = None) -> tuple[Link, Recorder, Recorder]:
        case: NetworkTestCase = self  # type: ignore[assignment]
        link = case.link(self.listenTarget(), seed=seed)
        client = await case.connect(link, Recorder())
        server = await case.serverProtocolFor(client, Recorder)
        # One byte each way: a TLS handshake is over before the conditions.
        client.send(b"<")
        await server.readBytes(1)
        server.send(b">")
        await client.readBytes(1)
        return link, client, server

    async def test_passThrough(self) -> None:
        """
        A link with no condition forwards bytes both ways, and
        C{serverProtocolFor} gives each client its own server end through it.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link = case.link(self.listenTarget())
        clients = [await case.connect(link, Recorder()) for _ in range(3)]
        for index, client in enumerate(clients):
            client.send(b"client %d\r\n" % index)
        for index, client in enumerate(clients):
            server = await case.serverProtocolFor(client, Recorder)
            case.assertEqual(await server.readLine(), b"client %d" % index)
            server.send(b"back %d\r\n" % index)
            case.assertEqual(await client.readLine(), b"back %d" % index)

    async def test_latency(self) -> None:
        """
        Latency delays the bytes of each direction by at least that much.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        link.latency(0.15)
        started = now()
        client.send(b"ping")
        await server.readBytes(4)
        server.send(b"pong")
        await client.readBytes(4)
        case.assertGreaterEqual(now() - started, 0.29)

    async def test_oneDirection(self) -> None:
        """
        A condition set on C{upstream} leaves C{downstream} alone.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        # A stall of the whole process longer than the latency would let the
        # timer win in real time; in virtual time a minute costs nothing.
        link.upstream.latency(60.0 if getattr(self, "virtualTime", False) else 0.5)
        client.send(b"up")
        server.send(b"down")
        await client.readBytes(4)
        case.assertEqual(server.received, b"<")
        case.assertEqual(await server.readBytes(2), b"up")

    async def test_jitter(self) -> None:
        """
        Latency with jitter still delays by at least latency minus jitter.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair(seed=11)
        link.latency(0.15, jitter=0.05)
        started = now()
        client.send(b"ping")
        await server.readBytes(4)
        case.assertGreaterEqual(now() - started, 0.095)
        case.assertIn("seed=11", repr(link))

    async def test_bandwidth(self) -> None:
        """
        At 40,000 bytes a second, 10,000 bytes take at least a quarter of a
        second.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        link.bandwidth(40_000)
        started = now()
        client.send(b"x" * 10_000)
        await server.readBytes(10_000)
        case.assertGreaterEqual(now() - started, 0.2)

    async def test_slice(self) -> None:
        """
        Sliced to one byte, every byte arrives (in a read of its own, where
        the application sees the stream's own bytes).
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, _ = await self.pair()
        # Reads kept apart by a gap where this test looks at them (not
        # through TLS, whose records it cannot see).
        link.slice(1, gap=0.05 if self.plainBytes else 0.002)
        server = await case.serverProtocolFor(client, Recorder)
        chunks: list[bytes] = []
        original = server.dataReceived

        def record(data: bytes) -> None:
            chunks.append(data)
            original(data)

        server.dataReceived = record  # type: ignore[method-assign]
        client.send(b"hello")
        case.assertEqual(await server.readBytes(5), b"hello")
        if self.plainBytes:
            case.assertEqual(chunks, [b"h", b"e", b"l", b"l", b"o"])

    async def test_limit(self) -> None:
        """
        After the limit, the connection closes on both sides, and only the
        first bytes arrived.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        link.upstream.limit(10)
        client.send(b"0123456789abcdef")
        await server.waitForClose()
        await client.waitForClose()
        if self.plainBytes:
            case.assertEqual(server.received, b"<0123456789")
        else:
            # TLS: the limit cut a record short, so nothing was decrypted.
            case.assertEqual(server.received, b"<")

    async def test_holdRelease(self) -> None:
        """
        Held bytes wait for C{release()}, then arrive in order.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        link.hold()
        client.send(b"one ")
        client.send(b"two")
        await pause(0.2)
        case.assertEqual(server.received, b"<")
        link.release()
        case.assertEqual(await server.readBytes(7), b"one two")

    async def test_blackhole(self) -> None:
        """
        A blackholed link forwards neither bytes nor the close, until
        C{clear()} passes the close on.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        link.blackhole()
        client.send(b"lost")
        await pause(0.1)
        if self.plainBytes:
            client.transport.loseConnection()  # type: ignore[union-attr]
        else:
            client.transport.abortConnection()  # type: ignore[union-attr]
        await client.waitForClose()
        await pause(0.1)
        case.assertEqual((server.received, server.closed), (b"<", False))
        link.clear()
        await server.waitForClose()
        case.assertEqual(server.received, b"<")

    async def test_reset(self) -> None:
        """
        C{reset()} closes both the client and the server end.
        """
        link, client, server = await self.pair()
        await link.reset()
        await client.waitForClose()
        await server.waitForClose()

    async def test_downUp(self) -> None:
        """
        A link that is down cuts its connections and refuses new ones with
        the reactor's own error; up again, it listens at the same address.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        address = link.getHost()
        await link.down()
        await client.waitForClose()
        await server.waitForClose()
        with case.assertRaises(ConnectError):
            await case.connect(link, Recorder())
        link.up()
        case.assertEqual(link.getHost(), address)
        again = await case.connect(link, Recorder())
        again.send(b"back")
        other = await case.serverProtocolFor(again, Recorder)
        case.assertEqual(await other.readBytes(4), b"back")

    async def test_clear(self) -> None:
        """
        C{clear()} removes every condition: held bytes arrive, and later
        bytes pass at once.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link, client, server = await self.pair()
        link.latency(30)
        link.hold()
        client.send(b"held ")
        link.clear()
        client.send(b"then")
        case.assertEqual(await server.readBytes(9, timeout=5), b"held then")


@implementer(IHalfCloseableProtocol)
class Answerer(Protocol):
    """
    Reads a question until its peer stops writing, then answers and closes.
    """

    question = b""

    def dataReceived(self, data: bytes) -> None:
        self.question += data

    def readConnectionLost(self) -> None:
        assert self.transport is not None
        self.transport.write(b"answer to " + self.question)
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass


@implementer(IPushProducer)
class Sender:
    """
    A streaming producer that notes when its transport asks it to pause and
    to resume.
    """

    def __init__(self) -> None:
        self.log: list[str] = []

    def pauseProducing(self) -> None:
        self.log.append("pause")

    def resumeProducing(self) -> None:
        self.log.append("resume")

    def stopProducing(self) -> None:
        pass


class NotReading(Protocol):
    """
    A server end that reads nothing.
    """

    def connectionMade(self) -> None:
        cast(Any, self.transport).pauseProducing()


class PlainStreamMixin:
    """
    What a link passes on where the application's bytes are the stream's:
    half-closes, and flow control.
    """

    transport: ClassVar[StreamTransport]

    async def test_halfClose(self) -> None:
        """
        A client that shuts its writing side still gets the answer the
        server writes after it read the end of the question.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        link = case.link(self.transport.listen(case, Factory.forProtocol(Answerer)))
        client = await case.connect(link, Recorder())
        client.send(b"life")
        cast(ITCPTransport, client.transport).loseWriteConnection()
        case.assertEqual(await client.readBytes(14), b"answer to life")
        await client.waitForClose()

    async def test_flowControl(self) -> None:
        """
        A sender whose peer does not read is paused, and stays paused: the
        link does not read on for it.
        """
        case: NetworkTestCase = self  # type: ignore[assignment]
        port = self.transport.listen(case, Factory.forProtocol(NotReading))
        client = await case.connect(case.link(port), Factory.forProtocol(Protocol))
        transport = cast(Any, client.transport)
        sender = Sender()
        transport.registerProducer(sender, True)
        transport.write(b"x" * 48_000_000)
        await pause(0.5)
        case.assertEqual(sender.log, ["pause"])
        transport.unregisterProducer()


class TCPLinkTests(PlainStreamMixin, LinkConditionsMixin, NetworkTestCase):
    """
    Links in front of TCP ports.
    """

    transport = TCP4()


class TCP6LinkTests(PlainStreamMixin, LinkConditionsMixin, NetworkTestCase):
    """
    Links in front of TCP ports on the IPv6 loopback.
    """

    transport = TCP6()
    skip = transport.skip


class UNIXLinkTests(PlainStreamMixin, LinkConditionsMixin, NetworkTestCase):
    """
    Links in front of UNIX ports.
    """

    transport = UNIX()


class TLSLinkTests(LinkConditionsMixin, NetworkTestCase):
    """
    Links in front of TLS ports: the relay forwards bytes, and the client
    verifies the real server through it.
    """

    transport = TLS()
    plainBytes = False


class VirtualTCPLinkTests(PlainStreamMixin, LinkConditionsMixin, NetworkTestCase):
    """
    Links in front of TCP ports, in virtual time: every condition holds as
    in real time, with the bytes crossing the loopback.
    """

    transport = TCP4()
    virtualTime = True

    async def test_latencyOfTenSeconds(self) -> None:
        """
        A round trip under ten seconds of latency takes twenty virtual
        seconds, and a moment of real time.
        """
        link, client, server = await self.pair()
        link.latency(10)
        started, real = now(), time.monotonic()
        client.send(b"ping")
        await server.readBytes(4, timeout=10)
        server.send(b"pong")
        await client.readBytes(4, timeout=10)
        self.assertGreaterEqual(now() - started, 20)
        self.assertLess(time.monotonic() - real, 5)


class VirtualTLSLinkTests(LinkConditionsMixin, NetworkTestCase):
    """
    Links in front of TLS ports, in virtual time.
    """

    transport = TLS()
    plainBytes = False
    virtualTime = True


class LinkTargetTests(NetworkTestCase):
    """
    A link is a target wherever a port is.
    """

    async def test_clientEndpoint(self) -> None:
        """
        A client endpoint of a link connects through it, and its client
        pairs with the server end the relay reached.
        """
        link = self.link(self.listen(RecorderFactory()))
        endpoint = self.clientEndpoint(link)
        client = await endpoint.connect(RecorderFactory())
        assert isinstance(client, Recorder)
        server = await self.serverProtocolFor(client, Recorder)
        client.send(b"via endpoint")
        self.assertEqual(await server.readBytes(12), b"via endpoint")

    def test_url(self) -> None:
        """
        The URL of a link is the link's address, not the port's.
        """
        port = self.listen(RecorderFactory())
        link = self.link(port)
        address = link.getHost()
        assert isinstance(address, IPv4Address)
        self.assertEqual(self.url(link, "/x"), f"http://127.0.0.1:{address.port}/x")
        self.assertNotEqual(address, port.getHost())
