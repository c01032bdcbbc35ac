"""
Code under test that opens its own sockets: a service that listens by
itself, a PB client, an HTTP Agent.  Nothing is tracked and there is no
tearDown: whatever they opened during the test is closed, and waited for,
with everything else.
"""

# ruff: noqa: N999

from twisted.application.service import Service
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.spread import pb
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from trialnet import NetworkTestCase, Recorder


def portNumber(port: IListeningPort) -> int:
    """
    The number of a TCP port.
    """
    address = port.getHost()
    assert isinstance(address, (IPv4Address, IPv6Address))
    return address.port


class Echo(Protocol):
    """
    Writes back whatever it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class EchoFactory(ServerFactory):
    """
    Builds echo protocols.
    """

    protocol = Echo


class EchoService(Service):
    """
    An echo server that listens on the loopback interface once started.
    """

    port: IListeningPort

    def startService(self) -> None:
        from twisted.internet import reactor

        super().startService()
        self.port = reactor.listenTCP(0, EchoFactory(), interface="127.0.0.1")


class Calculator(pb.Root):
    """
    Adds numbers for remote callers.
    """

    def remote_add(self, a: int, b: int) -> int:
        return a + b


class Greeting(Resource):
    """
    Says hello.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"hello"


class CodeUnderTestTests(NetworkTestCase):
    """
    Ports and connections the code under test opened itself need no
    cleanup code.
    """

    async def test_serviceListensByItself(self) -> None:
        """
        A started service echoes to a client; the service is never stopped.
        """
        service = EchoService()
        service.startService()
        client = await self.connect(service.port, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.waitForBytes(4), b"ping")

    async def test_pbClient(self) -> None:
        """
        A PB client, connected through an endpoint of its own, makes a
        remote call; it is never disconnected.
        """
        from twisted.internet import reactor

        port = self.listen(pb.PBServerFactory(Calculator()))
        factory = pb.PBClientFactory()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
        endpoint.connect(factory)
        root = await factory.getRootObject()
        self.assertEqual(await root.callRemote("add", 2, 3), 5)

    async def test_agent(self) -> None:
        """
        An HTTP Agent gets a page from a site.
        """
        from twisted.internet import reactor

        port = self.listen(Site(Greeting()))
        url = b"http://127.0.0.1:%d/" % portNumber(port)
        response = await Agent(reactor).request(b"GET", url)
        self.assertEqual(await readBody(response), b"hello")
