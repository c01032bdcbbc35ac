"""
The public API as a user's code types it: checked by C{mypy --strict} in
the test command, so a change to a public signature fails there.  Nothing
here runs.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.iweb import IPolicyForHTTPS

from trialnet import (
    ClosedWhileWaitingError,
    DatagramLink,
    IUDPPort,
    Link,
    Network,
    NetworkTestCase,
    Recorder,
    RecorderFactory,
    TeardownError,
    TLSAuthority,
    WaitTimeoutError,
)


async def useNetwork(network: Network) -> None:
    factory: Factory = Factory.forProtocol(Protocol)
    port: IListeningPort = network.listen(factory, port=0, interface="::1", backlog=5)
    tlsPort: IListeningPort = network.listenTLS(factory, options=None)
    unixPort: IListeningPort = network.listenUNIX(factory, backlog=5)
    udpPort: IUDPPort = network.listenUDP(DatagramProtocol(), maxPacketSize=512)
    # It writes datagrams, and is a listening port like the others.
    udpPort.write(b"ping", ("127.0.0.1", udpPort.getHost().port))
    listening: IListeningPort = udpPort
    client: IProtocol = await network.connect(port, factory, timeout=1.0)
    options: IOpenSSLClientConnectionCreator = network.tlsAuthority.clientOptions(
        hostname="127.0.0.1", identity="alice"
    )
    await network.connect(tlsPort, factory, tlsOptions=options)
    await network.connect(unixPort, Protocol())
    server: IProtocol = await network.serverProtocolFor(client)
    accepted: IProtocol = await network.acceptedProtocol(port)
    closed: Deferred[None] = network.whenClosed(server)
    serverEndpoint: IStreamServerEndpoint = network.serverEndpoint("unix")
    clientEndpoint: IStreamClientEndpoint = network.clientEndpoint(port, 1.0)
    tracked: IStreamClientEndpoint = network.track(clientEndpoint)
    sameFactory: Factory = network.track(factory)
    agent: Agent = network.agent(HTTPConnectionPool(None), connectTimeout=1.0)
    byteURL: bytes = network.url(port)
    textURL: str = network.url(tlsPort, "/a")
    network.mapName("api.example.com", tlsPort)
    policy: IPolicyForHTTPS = network.tlsAuthority.policyForHTTPS()
    network.disconnectTimeout = 1.0
    network.waitTimeout = None
    await network.close()
    del udpPort, listening, accepted, closed, serverEndpoint, tracked, sameFactory
    del agent, byteURL, textURL, policy


class Greeter(Protocol):
    """
    A user's protocol, whose type the API carries through.
    """

    greeting = b"hello"


async def typedProtocols(case: NetworkTestCase, network: Network) -> None:
    """
    C{connect} and the server-side lookups give the user's own protocol
    type: C{Deferred} is invariant, so these fail if they widen to
    C{IProtocol}.
    """
    port = case.listen(Factory.forProtocol(Greeter))
    fromFactory: Deferred[Greeter] = case.connect(port, Factory.forProtocol(Greeter))
    fromInstance: Deferred[Greeter] = case.connect(port, Greeter(), timeout=1.0)
    onNetwork: Deferred[Greeter] = network.connect(port, Factory.forProtocol(Greeter))
    recorder: Deferred[Recorder] = network.connect(port, Recorder())
    client = await fromFactory
    greeting: bytes = client.greeting
    server: Deferred[Greeter] = case.serverProtocolFor(client, Greeter)
    accepted: Deferred[Greeter] = network.acceptedProtocol(port, Greeter)
    untyped: Deferred[IProtocol] = case.serverProtocolFor(client)
    outermost: Deferred[IProtocol] = case.serverProtocolFor(client, unwrap=False)
    wrapper: Deferred[Greeter] = network.acceptedProtocol(port, Greeter, False)
    reader = await recorder
    reader.send(b"x")
    line: bytes = await reader.readLine()
    chunk: bytes = await reader.readBytes(2, timeout=1.0)
    del fromInstance, onNetwork, greeting, server, accepted, untyped, line, chunk
    del outermost, wrapper


class Typed(NetworkTestCase):
    disconnectTimeout = 0.5

    async def test_it(self) -> None:
        port = self.listen(Factory.forProtocol(Protocol))
        self.mapName("db.internal", port)
        authority: TLSAuthority = self.tlsAuthority
        path: str = authority.caPath
        pem: bytes = authority.caPEM
        recorders = RecorderFactory()
        client = await self.connect(port, recorders)
        assert isinstance(client, Recorder)
        data: bytes = await client.waitForBytes(1, timeout=1.0)
        line: bytes = await client.waitForDelimiter(b"\n")
        await client.waitForClose()
        built: list[Recorder] = recorders.built
        received: bytes = client.received
        del path, pem, data, line, built, received


def errors(
    teardown: TeardownError, timedOut: WaitTimeoutError, closed: ClosedWhileWaitingError
) -> tuple[float | None, bytes, str]:
    return teardown.waited, timedOut.received, closed.waitedFor


async def links(case: NetworkTestCase, network: Network) -> None:
    """
    Links are typed as what each kind of port gets.
    """
    link: Link = case.link(case.listen(Factory.forProtocol(Protocol)), seed=1)
    link.latency(0.05, jitter=0.01)
    link.upstream.slice(1)
    link.downstream.bandwidth(1000.0)
    reset: Deferred[None] = link.reset()
    down: Deferred[None] = link.down()
    link.up()
    client = await case.connect(link, Recorder())
    url: bytes = case.url(link)
    case.mapName("api.example.com", link)
    network.mapName("db.internal", network.link(network.listenTLS(Factory())))
    datagrams: DatagramLink = network.datagramLink(
        network.listenUDP(DatagramProtocol()), seed=None
    )
    datagrams.drop(0.5)
    datagrams.upstream.reorder(3)
    seed: int = link.seed + datagrams.seed
    del reset, down, client, url, seed
