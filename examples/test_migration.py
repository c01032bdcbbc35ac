"""
The test of "How to disconnect in Twisted, really" (Jonathan Lange, 2012),
before and after trialnet.  The post's test sets up in C{setUp} and returns
Deferreds from C{setUp} and C{tearDown}; here both versions work in the test
method, which type-checks with nothing silenced.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import (
    ClientFactory,
    Factory,
    Protocol,
    ServerFactory,
    connectionDone,
)
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from trialnet import NetworkTestCase


class ServerProtocol(Protocol):
    """
    Fires a Deferred when its connection is lost.
    """

    def __init__(self, onConnectionLost: Deferred[None]) -> None:
        self.onConnectionLost = onConnectionLost

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.onConnectionLost.callback(None)


class ClientProtocol(ServerProtocol):
    """
    Fires a Deferred when its connection is made, and one when it is lost.
    """

    def __init__(
        self, onConnectionMade: Deferred[None], onConnectionLost: Deferred[None]
    ) -> None:
        super().__init__(onConnectionLost)
        self.onConnectionMade = onConnectionMade

    def connectionMade(self) -> None:
        self.onConnectionMade.callback(None)


class NotifyingServerFactory(ServerFactory):
    """
    Builds a L{ServerProtocol} that fires C{onConnectionLost}.
    """

    def __init__(self) -> None:
        self.onConnectionLost: Deferred[None] = Deferred()

    def buildProtocol(self, addr: IAddress | None) -> ServerProtocol:
        return ServerProtocol(self.onConnectionLost)


class NotifyingClientFactory(ClientFactory):
    """
    Builds a L{ClientProtocol} that fires C{onConnectionMade} and
    C{onConnectionLost}.
    """

    def __init__(self) -> None:
        self.onConnectionMade: Deferred[None] = Deferred()
        self.onConnectionLost: Deferred[None] = Deferred()

    def buildProtocol(self, addr: IAddress | None) -> ClientProtocol:
        return ClientProtocol(self.onConnectionMade, self.onConnectionLost)


class BeforeTests(TestCase):
    """
    The post's test, by hand: three Deferreds to wait for.
    """

    async def test_disconnect(self) -> None:
        """
        The port stops and both ends of the connection close after the test.
        """
        from twisted.internet import reactor

        server = NotifyingServerFactory()
        port = reactor.listenTCP(0, server, interface="127.0.0.1")
        address = port.getHost()
        assert isinstance(address, IPv4Address)
        client = NotifyingClientFactory()
        connector = reactor.connectTCP("127.0.0.1", address.port, client)

        def disconnect() -> Deferred[list[None]]:
            stopped = port.stopListening() or succeed(None)
            connector.disconnect()
            return gatherResults(
                [stopped, client.onConnectionLost, server.onConnectionLost]
            )

        self.addCleanup(disconnect)
        await client.onConnectionMade


class AfterTests(NetworkTestCase):
    """
    The same test with trialnet: nothing to wait for by hand.
    """

    async def test_disconnect(self) -> None:
        """
        The port stops and both ends of the connection close after the test.
        """
        port = self.listen(Factory.forProtocol(Protocol))
        await self.connect(port, ClientFactory.forProtocol(Protocol))
