"""
A bad network between a client and a server, on real sockets: a link in
front of the server's port, whose conditions each test sets.
"""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol, ReconnectingClientFactory
from twisted.protocols.basic import LineReceiver
from twisted.protocols.policies import TimeoutMixin

from trialnet import NetworkTestCase, Recorder, RecorderFactory

# timeout-start


class Pinger(LineReceiver, TimeoutMixin):
    """
    Sends C{PING} and gives up on the server after half a second of silence.
    """

    timedOut = False

    def connectionMade(self) -> None:
        self.setTimeout(0.5)
        self.sendLine(b"PING")

    def lineReceived(self, line: bytes) -> None:
        self.resetTimeout()

    def timeoutConnection(self) -> None:
        self.timedOut = True
        super().timeoutConnection()


class TimeoutTests(NetworkTestCase):
    """
    A client's timeout, tested with a link that goes quiet.
    """

    async def test_silentServer(self) -> None:
        """
        When the network forwards nothing, the client gives up on its own.
        """
        port = self.listen(RecorderFactory())
        link = self.link(port)
        link.blackhole()
        client = await self.connect(link, Factory.forProtocol(Pinger))
        await self.whenClosed(client)
        self.assertTrue(client.timedOut)


# timeout-end
# slice-start


class Counter(LineReceiver):
    """
    Answers each line with its length.
    """

    def lineReceived(self, line: bytes) -> None:
        self.sendLine(b"%d" % len(line))


class SliceTests(NetworkTestCase):
    """
    A line parser fed one byte at a time.
    """

    async def test_oneByteAtATime(self) -> None:
        """
        Lines that arrive a byte per read are parsed whole.
        """
        link = self.link(self.listen(Factory.forProtocol(Counter)))
        link.upstream.slice(1)
        client = await self.connect(link, Recorder())
        client.send(b"hello\r\nworld!\r\n")
        self.assertEqual(await client.readLine(), b"5")
        self.assertEqual(await client.readLine(), b"6")


# slice-end
# reset-start


class Subscriber(Protocol):
    """
    Says hello each time it connects.
    """

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"HELLO\r\n")


class Reconnecting(ReconnectingClientFactory):
    """
    Reconnects at once when its connection is lost.
    """

    protocol = Subscriber
    initialDelay = 0.01
    maxDelay = 1


class ResetTests(NetworkTestCase):
    """
    A client that reconnects, tested by cutting its connection.
    """

    async def test_reconnects(self) -> None:
        """
        After a reset, the client connects again and says hello again.
        """
        port = self.listen(RecorderFactory())
        link = self.link(port)
        factory = Reconnecting()
        self.addCleanup(factory.stopTrying)
        address = link.getHost()
        assert isinstance(address, IPv4Address)
        # The code under test connects by itself; trialnet tracks it.
        reactor.connectTCP(address.host, address.port, factory)
        first = await self.acceptedProtocol(port, Recorder)
        self.assertEqual(await first.readLine(), b"HELLO")
        await link.reset()
        second = await self.acceptedProtocol(port, Recorder)
        self.assertEqual(await second.readLine(), b"HELLO")


# reset-end
# bandwidth-start


class Store(LineReceiver):
    """
    Takes C{SIZE n}, then n bytes, and says how many it stored.
    """

    expected = 0
    stored = 0

    def lineReceived(self, line: bytes) -> None:
        self.expected = int(line.split()[1])
        self.setRawMode()

    def rawDataReceived(self, data: bytes) -> None:
        self.stored += len(data)
        if self.stored >= self.expected:
            self.sendLine(b"STORED %d" % self.stored)


class UploadTests(NetworkTestCase):
    """
    An upload over a slow uplink.
    """

    async def test_slowUpload(self) -> None:
        """
        100 kB at 200 kB/s upstream arrive whole, in no less than half a
        second.
        """
        link = self.link(self.listen(Factory.forProtocol(Store)))
        link.upstream.bandwidth(200_000)
        client = await self.connect(link, Recorder())
        started = reactor.seconds()
        client.send(b"SIZE 100000\r\n" + b"x" * 100_000)
        self.assertEqual(await client.readLine(), b"STORED 100000")
        self.assertGreaterEqual(reactor.seconds() - started, 0.45)


# bandwidth-end
