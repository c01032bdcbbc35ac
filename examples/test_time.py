"""
Tests about time, in virtual time: an idle timeout, a reconnect backoff, an
HTTP client's timeout, a UDP retransmit and a slow link each take the
virtual seconds they need and a moment of real time, with every byte still
crossing the loopback.  Each asserts the virtual time it took and a generous
real bound (it does not hang).
"""

from __future__ import annotations

import time

from twisted.application.internet import ClientService
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.task import deferLater
from twisted.protocols.basic import LineReceiver
from twisted.protocols.policies import TimeoutMixin
from twisted.web.client import ResponseNeverReceived
from twisted.web.resource import Resource
from twisted.web.server import Site

from trialnet import NetworkTestCase, Recorder, RecorderFactory

#: Real seconds any of these examples may take: they do not hang.
REAL_BOUND = 10.0


# timed-start


class TimedTest(NetworkTestCase):
    """
    A test in virtual time that measures both clocks.
    """

    virtualTime = True

    def setUp(self) -> None:
        self.virtualStart = reactor.seconds()
        self.realStart = time.monotonic()

    def assertTook(self, atLeast: float) -> None:
        """
        At least C{atLeast} virtual seconds passed, and little real time.
        """
        self.assertGreaterEqual(reactor.seconds() - self.virtualStart, atLeast)
        self.assertLess(time.monotonic() - self.realStart, REAL_BOUND)


# timed-end


# idle-start


class KeyValue(LineReceiver, TimeoutMixin):
    """
    A line server that drops a client idle for 30 seconds.
    """

    def connectionMade(self) -> None:
        self.setTimeout(30)

    def lineReceived(self, line: bytes) -> None:
        self.resetTimeout()
        self.sendLine(b"OK " + line)

    def timeoutConnection(self) -> None:
        assert self.transport is not None
        self.transport.loseConnection()


class IdleTests(TimedTest):
    """
    The server's idle timeout, tested in milliseconds.
    """

    async def test_idleClientIsDropped(self) -> None:
        """
        A client that talks, then goes quiet, is dropped 30 seconds later.
        """
        client = await self.connect(
            self.listen(Factory.forProtocol(KeyValue)), Recorder()
        )
        await deferLater(reactor, 20, lambda: None)
        client.send(b"get a\r\n")
        self.assertEqual(await client.readLine(), b"OK get a")
        await self.whenClosed(client)
        self.assertTook(50)


# idle-end
# backoff-start


class BackoffTests(TimedTest):
    """
    A ClientService reconnecting with its backoff while the link is down.
    """

    async def test_reconnectsAfterOutage(self) -> None:
        """
        With the link down for five virtual minutes, the service keeps
        retrying with its backoff, and reconnects once the link is up.
        """
        link = self.link(self.listen(RecorderFactory()))
        address = link.getHost()
        assert isinstance(address, IPv4Address)
        endpoint = TCP4ClientEndpoint(reactor, address.host, address.port)
        service = ClientService(endpoint, Factory.forProtocol(Protocol))
        # Never stopped: the teardown keeps it from reconnecting.
        service.startService()
        await service.whenConnected()
        await link.down()
        await deferLater(reactor, 300, lambda: None)
        link.up()
        await service.whenConnected(failAfterFailures=None)
        self.assertTook(300)


# backoff-end
# http-start


class HTTPTimeoutTests(TimedTest):
    """
    An HTTP client's 30 s timeout against a server that vanished.
    """

    async def test_clientGivesUp(self) -> None:
        """
        Through a link that forwards nothing, the request times out after
        30 virtual seconds.
        """
        link = self.link(self.listen(_site()))
        link.blackhole()
        request = self.agent().request(b"GET", self.url(link, b"/"))
        request.addTimeout(30, reactor)
        # The Agent reports its cancelled request as never answered.
        with self.assertRaises(ResponseNeverReceived):
            await request
        self.assertTook(30)


def _site() -> Site:
    return Site(Resource())


# http-end
# udp-start


class Answers(DatagramProtocol):
    """
    Answers C{Q <id> <name>} with C{A <id> 192.0.2.1}.
    """

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        _, queryId, _ = datagram.split()
        assert self.transport is not None
        self.transport.write(b"A " + queryId + b" 192.0.2.1", addr)


class Resolver(DatagramProtocol):
    """
    Asks one question, and asks again every 5 seconds until answered.
    """

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.attempts = 0
        self.answer: Deferred[bytes] = Deferred()
        self._retry: IDelayedCall | None = None

    def ask(self, name: bytes) -> Deferred[bytes]:
        self.attempts += 1
        assert self.transport is not None
        self.transport.write(b"Q 7 " + name, self.server)
        self._retry = reactor.callLater(5, self.ask, name)
        return self.answer

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        if not self.answer.called:
            self.answer.callback(datagram.split()[2])


class RetransmitTests(TimedTest):
    """
    A UDP client that retransmits every 5 s, over a lossy datagram link.
    """

    async def test_answeredDespiteLoss(self) -> None:
        """
        With this seed the first questions are lost: the answer comes after
        retransmits, 5 virtual seconds apart.
        """
        link = self.datagramLink(self.listenUDP(Answers()), seed=3)
        link.drop(0.5)
        address = link.getHost()
        assert isinstance(address, IPv4Address)
        resolver = Resolver((address.host, address.port))
        self.listenUDP(resolver)
        self.assertEqual(await resolver.ask(b"example.com"), b"192.0.2.1")
        self.assertGreater(resolver.attempts, 1)
        self.assertTook(5 * (resolver.attempts - 1))


# udp-end
# latency-start


class Echo(Protocol):
    """
    Sends back what it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class LatencyTests(TimedTest):
    """
    A round trip over a link with ten seconds of latency each way.
    """

    async def test_slowLink(self) -> None:
        """
        The echo comes back twenty virtual seconds later.
        """
        link = self.link(self.listen(Factory.forProtocol(Echo)))
        link.latency(10)
        client = await self.connect(link, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")
        self.assertTook(20)


# latency-end
