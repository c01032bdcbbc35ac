"""
An application whose services listen and connect by themselves, through
strports descriptions, as a C{twistd} plugin's would: the test starts them
and never stops them.  Their ports and connections close, and are waited for,
with the test; a C{ClientService} is kept from reconnecting.
"""

from __future__ import annotations

from twisted.application.internet import ClientService
from twisted.application.service import Service
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory
from twisted.internet.task import deferLater
from twisted.protocols.basic import LineReceiver

from trialnet import NetworkTestCase, Recorder


class Shout(LineReceiver):
    """
    Answers each line in capitals.
    """

    def lineReceived(self, line: bytes) -> None:
        self.sendLine(line.upper())


class ShoutService(Service):
    """
    The application's server: listens where its strports description says.

    @ivar listening: Fires with the port once it listens.
    """

    def __init__(self, description: str) -> None:
        self.description = description
        self.listening: Deferred[IListeningPort] = Deferred()

    def startService(self) -> None:
        from twisted.internet import reactor

        super().startService()
        endpoint = serverFromString(reactor, self.description)
        endpoint.listen(Factory.forProtocol(Shout)).chainDeferred(self.listening)


def shoutClient(description: str, retryAfter: float | None = None) -> ClientService:
    """
    The application's client: a service that keeps a connection to a shout
    server open, reconnecting when it drops.

    @param retryAfter: Seconds between attempts; by default Twisted's
        backoff.
    """
    from twisted.internet import reactor

    endpoint = clientFromString(reactor, description)
    factory = Factory.forProtocol(Recorder)
    if retryAfter is None:
        return ClientService(endpoint, factory)
    return ClientService(endpoint, factory, retryPolicy=lambda _: retryAfter)


class ServiceTests(NetworkTestCase):
    """
    The application's services, started as C{twistd} would start them.
    """

    async def test_serverListensByItself(self) -> None:
        """
        The server's service listens on port 0 of the loopback interface
        and answers a client; nothing stops it.
        """
        service = ShoutService("tcp:0:interface=127.0.0.1")
        service.startService()
        port = await service.listening
        client = await self.connect(port, Recorder())
        client.send(b"hello\r\n")
        self.assertEqual(await client.readLine(), b"HELLO")

    async def test_clientConnectsByItself(self) -> None:
        """
        The client's service connects to a port of the test's and talks to
        it; nothing stops the service, which does not reconnect after the
        test.
        """
        address = self.listen(Factory.forProtocol(Shout)).getHost()
        assert isinstance(address, IPv4Address)
        service = shoutClient(f"tcp:127.0.0.1:{address.port}")
        service.startService()
        client = await service.whenConnected()
        assert isinstance(client, Recorder)
        client.send(b"again\r\n")
        self.assertEqual(await client.readLine(), b"AGAIN")

    async def test_clientReconnects(self) -> None:
        """
        A wait for the client's C{connectionLost} fires inside the service's
        own handling of the loss, before the service heard of it: it still
        hands out the closed connection.  One turn of the reactor later the
        service has seen the loss, and hands out its next connection.
        """
        from twisted.internet import reactor

        address = self.listen(Factory.forProtocol(Shout)).getHost()
        assert isinstance(address, IPv4Address)
        service = shoutClient(f"tcp:127.0.0.1:{address.port}", retryAfter=0)
        service.startService()
        first = await service.whenConnected()
        assert isinstance(first, Recorder)
        lost = self.whenCalled(first, "connectionLost")
        assert first.transport is not None
        first.transport.loseConnection()
        await lost
        self.assertIs(await service.whenConnected(), first)
        await deferLater(reactor, 0)  # let the service's own handling finish
        self.assertIsNot(await service.whenConnected(), first)
