"""
Sample tests of the C{network} fixture with a port the code under test opened
by itself, run in a pytest process by
C{tests/sockets/test_observedFixture.py}, which checks their outcomes (with
and without C{trialnet_strict_cleanup}).  The file name does not start with
C{test_}, so neither trial nor pytest collects it from the suite.
"""

from __future__ import annotations

import os

import pytest_twisted
from twisted.internet.protocol import Factory, Protocol, ServerFactory

from trialnet import Network


@pytest_twisted.ensureDeferred
async def test_portByReactor(network: Network) -> None:
    from twisted.internet import reactor

    factory = ServerFactory.forProtocol(Protocol)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[arg-type]
    await network.connect(port, Factory.forProtocol(Protocol))
    with open(os.environ["TRIALNET_SAMPLE_PORTS"], "a") as ports:
        ports.write(f"{port.getHost().port}\n")  # type: ignore[attr-defined]


def test_reactorClean() -> None:
    from twisted.internet import reactor

    assert reactor.getDelayedCalls() == []
    sockets = [reader for reader in reactor.getReaders() if hasattr(reader, "getHost")]
    assert sockets == []
