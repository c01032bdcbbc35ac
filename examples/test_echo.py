"""
An echo server tested end to end over loopback.
"""

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol

from trialnet import NetworkTestCase


class Echo(Protocol):
    """
    Writes back whatever it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]


class Collector(Protocol):
    """
    Fires C{received} once C{expected} bytes have arrived.
    """

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.buffer = b""
        self.received: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= self.expected and not self.received.called:
            self.received.callback(self.buffer)


class EchoTests(NetworkTestCase):
    """
    The echo server sends back what it is sent.
    """

    async def test_echo(self) -> None:
        """
        Bytes sent to the server come back unchanged.
        """
        port = self.listen(Factory.forProtocol(Echo))
        client = await self.connect(port, Collector(4))
        client.transport.write(b"ping")  # type: ignore[attr-defined]
        self.assertEqual(await client.received, b"ping")  # type: ignore[attr-defined]

    async def test_serverSide(self) -> None:
        """
        The server protocol for a client is at hand, with its real transport.
        """
        port = self.listen(Factory.forProtocol(Echo))
        client = await self.connect(port, Collector(1))
        server = await self.serverProtocolFor(client)
        self.assertIsInstance(server, Echo)
        self.assertEqual(server.transport.getPeer(), client.transport.getHost())  # type: ignore[attr-defined]
