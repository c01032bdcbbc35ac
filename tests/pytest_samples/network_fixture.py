"""
Sample tests of trialnet's C{network} fixture under pytest-twisted, run in a
pytest process by C{tests/test_plugin.py}, which checks their outcomes.  The
file name does not start with C{test_}, so neither trial nor pytest collects
it from the suite.
"""

from __future__ import annotations

import os

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPullProducer
from twisted.internet.protocol import Factory, Protocol
from zope.interface import implementer

from trialnet import Network


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]


class Collector(Protocol):
    def __init__(self) -> None:
        self.received: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        if not self.received.called:
            self.received.callback(data)


@implementer(IPullProducer)
class NeverFinishes:
    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class Stuck(Protocol):
    def connectionMade(self) -> None:
        self.transport.registerProducer(NeverFinishes(), False)  # type: ignore[union-attr]


@pytest_twisted.ensureDeferred
async def test_echo(network: Network) -> None:
    port = network.listen(Factory.forProtocol(Echo))
    client = await network.connect(port, Factory.forProtocol(Collector))
    assert client.transport is not None
    client.transport.write(b"ping")
    assert await client.received == b"ping"
    with open(os.environ["TRIALNET_SAMPLE_PORTS"], "a") as ports:
        ports.write(f"{port.getHost().port}\n")  # type: ignore[attr-defined]


@pytest_twisted.ensureDeferred
async def test_stuck(network: Network) -> None:
    network.disconnectTimeout = 0.3
    port = network.listen(Factory.forProtocol(Stuck))
    await network.connect(port, Factory.forProtocol(Stuck))


@pytest_twisted.ensureDeferred
async def test_link(network: Network) -> None:
    link = network.link(network.listen(Factory.forProtocol(Echo)), seed=3)
    link.latency(0.01, jitter=0.005)
    client = await network.connect(link, Factory.forProtocol(Collector))
    assert client.transport is not None
    client.transport.write(b"ping")
    assert await client.received == b"ping"


def test_reactorClean() -> None:
    from twisted.internet import reactor

    assert reactor.getDelayedCalls() == []
    sockets = [reader for reader in reactor.getReaders() if hasattr(reader, "getHost")]
    assert sockets == []
