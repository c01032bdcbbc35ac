"""
A server that speaks first: it greets every client as it connects.
"""

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

from trialnet import NetworkTestCase


class Greeter(LineReceiver):
    """
    Sends a greeting line as soon as a client connects.
    """

    def connectionMade(self) -> None:
        self.sendLine(b"HELLO trialnet")


class FirstLine(LineReceiver):
    """
    Fires C{line} with the first line it receives.
    """

    def __init__(self) -> None:
        self.line: Deferred[bytes] = Deferred()

    def lineReceived(self, line: bytes) -> None:
        if not self.line.called:
            self.line.callback(line)


class GreetingTests(NetworkTestCase):
    """
    Clients are greeted before they say anything.
    """

    async def test_greeting(self) -> None:
        """
        The first line a client receives is the greeting.
        """
        port = self.listen(Factory.forProtocol(Greeter))
        client = await self.connect(port, FirstLine())
        self.assertEqual(await client.line, b"HELLO trialnet")  # type: ignore[attr-defined]

    async def test_everyClientGreeted(self) -> None:
        """
        Each of several clients is greeted on its own connection.
        """
        port = self.listen(Factory.forProtocol(Greeter))
        for _ in range(5):
            client = await self.connect(port, FirstLine())
            self.assertEqual(await client.line, b"HELLO trialnet")  # type: ignore[attr-defined]
