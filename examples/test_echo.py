"""
An echo server tested end to end over loopback.
"""

from twisted.internet.protocol import Factory, Protocol

from trialnet import NetworkTestCase, Recorder


class Echo(Protocol):
    """
    Writes back whatever it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class EchoTests(NetworkTestCase):
    """
    The echo server sends back what it is sent.
    """

    async def test_echo(self) -> None:
        """
        Bytes sent to the server come back unchanged.
        """
        port = self.listen(Factory.forProtocol(Echo))
        client = await self.connect(port, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.waitForBytes(4), b"ping")

    async def test_serverSide(self) -> None:
        """
        The server protocol for a client is at hand, with its real transport.
        """
        port = self.listen(Factory.forProtocol(Echo))
        client = await self.connect(port, Recorder())
        server = await self.serverProtocolFor(client, Echo)
        assert server.transport is not None and client.transport is not None
        self.assertEqual(server.transport.getPeer(), client.transport.getHost())
