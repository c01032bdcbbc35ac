"""
The test suites the benchmark compares.  Each does the same work per test:
listen on 127.0.0.1 port 0, connect one client, wait until both ends are
connected, echo 4 bytes, and tear down waiting for the port and both ends.

C{TRIALNET_BENCH_TESTS} sets how many tests each suite has.
"""

from __future__ import annotations

import os
from typing import cast

from twisted.internet import defer, protocol
from twisted.trial import unittest

from trialnet import NetworkTestCase

COUNT = int(os.environ.get("TRIALNET_BENCH_TESTS", "200"))


class Echo(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]


class Client(protocol.Protocol):
    def __init__(self) -> None:
        self.echoed: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        if not self.echoed.called:
            self.echoed.callback(data)


class HandServer(Echo):
    def connectionMade(self) -> None:
        self.factory.onConnectionMade.callback(self)

    def connectionLost(self, reason: object = None) -> None:
        self.factory.onConnectionLost.callback(self)


class HandClient(Client):
    def connectionMade(self) -> None:
        self.factory.onConnectionMade.callback(self)

    def connectionLost(self, reason: object = None) -> None:
        self.factory.onConnectionLost.callback(self)


def _repeat(method: object) -> dict[str, object]:
    return {f"test_{i:05d}": method for i in range(COUNT)}


def _empty(self: unittest.TestCase) -> None:
    pass


EmptyTests = type("EmptyTests", (unittest.TestCase,), _repeat(_empty))


class QuietFactory(protocol.Factory):
    """
    Every variant's factories are quiet: a noisy one logs two lines a test,
    which is not the network work being compared.
    """

    noisy = False


class QuietClientFactory(protocol.ClientFactory):
    """
    A quiet client factory, for every variant.
    """

    noisy = False


def _handWritten(host: str, bothEnds: bool = False) -> type[unittest.TestCase]:
    """
    The blog post's pattern: three Deferreds collected in tearDown.  With
    C{bothEnds}, the server end is closed too rather than left to read the
    client's close: trialnet's Twisted work and no more, the floor.
    """

    async def test(self: unittest.TestCase) -> None:
        from twisted.internet import reactor

        serverFactory = QuietFactory.forProtocol(HandServer)
        serverFactory.onConnectionMade = defer.Deferred()  # type: ignore[attr-defined]
        serverFactory.onConnectionLost = defer.Deferred()  # type: ignore[attr-defined]
        port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")  # type: ignore[arg-type]
        clientFactory = QuietClientFactory.forProtocol(HandClient)
        clientFactory.onConnectionMade = defer.Deferred()  # type: ignore[attr-defined]
        clientFactory.onConnectionLost = defer.Deferred()  # type: ignore[attr-defined]
        connector = reactor.connectTCP(host, port.getHost().port, clientFactory)  # type: ignore[arg-type, attr-defined]
        client = await clientFactory.onConnectionMade  # type: ignore[attr-defined]
        server = await serverFactory.onConnectionMade  # type: ignore[attr-defined]
        client.transport.write(b"ping")
        await client.echoed
        stopped = defer.maybeDeferred(port.stopListening)
        connector.disconnect()
        if bothEnds:
            server.transport.loseConnection()
        await defer.gatherResults(
            [stopped, clientFactory.onConnectionLost, serverFactory.onConnectionLost]  # type: ignore[attr-defined]
        )

    return type("HandWrittenTests", (unittest.TestCase,), _repeat(test))


HandWrittenTests = _handWritten("127.0.0.1")
HandWrittenLocalhostTests = _handWritten("localhost")
HandWrittenBothEndsTests = _handWritten("127.0.0.1", bothEnds=True)


async def _trialnet(self: NetworkTestCase) -> None:
    port = self.listen(QuietFactory.forProtocol(Echo))
    # A subclass of Twisted's generic factory, typed as Twisted's own.
    client = cast(
        Client, await self.connect(port, QuietClientFactory.forProtocol(Client))
    )
    await self.serverProtocolFor(client)
    assert client.transport is not None
    client.transport.write(b"ping")
    await client.echoed


TrialnetTests = type("TrialnetTests", (NetworkTestCase,), _repeat(_trialnet))
TrialnetVirtualTests = type(
    "TrialnetVirtualTests",
    (NetworkTestCase,),
    {**_repeat(_trialnet), "virtualTime": True},
)
