"""
The test from "How to disconnect in Twisted, really", with trialnet: no
Deferreds to collect, no tearDown.
"""

from twisted.internet.protocol import ClientFactory, Factory, Protocol

from trialnet import NetworkTestCase


class DisconnectTests(NetworkTestCase):
    """
    The blog post's scenario: a server, a client, and nothing left behind.
    """

    async def test_disconnect(self) -> None:
        """
        The port and both ends of the connection close after the test.
        """
        serverPort = self.listen(Factory.forProtocol(Protocol))
        await self.connect(serverPort, ClientFactory.forProtocol(Protocol))
