"""
A server that speaks first: it greets every client as it connects.
"""

from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

from trialnet import NetworkTestCase, Recorder, RecorderFactory


class Greeter(LineReceiver):
    """
    Sends a greeting line as soon as a client connects.
    """

    def connectionMade(self) -> None:
        self.sendLine(b"HELLO trialnet")


class GreetingTests(NetworkTestCase):
    """
    Clients are greeted before they say anything.
    """

    async def test_greeting(self) -> None:
        """
        The first line a client receives is the greeting.
        """
        port = self.listen(Factory.forProtocol(Greeter))
        client = await self.connect(port, Recorder())
        line = await client.waitForDelimiter(b"\r\n")
        self.assertEqual(line, b"HELLO trialnet\r\n")

    async def test_everyClientGreeted(self) -> None:
        """
        Each of several clients is greeted on its own connection.
        """
        port = self.listen(Factory.forProtocol(Greeter))
        clients = RecorderFactory()
        for _ in range(5):
            await self.connect(port, clients)
        for client in clients.built:
            self.assertEqual(await client.waitForBytes(16), b"HELLO trialnet\r\n")
