"""
Sample tests of the C{network} fixture with a C{ClientService} that waits to
retry when its test ends, run in a pytest process by
C{tests/core/test_leftTimers.py}, which checks that the retry does not survive
into the next test.  The file name does not start with C{test_}, so neither
trial nor pytest collects it from the suite.
"""

from __future__ import annotations

import socket

import pytest
import pytest_twisted
from twisted.application.internet import ClientService
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.protocol import Factory, Protocol

from trialnet import Network


@pytest_twisted.ensureDeferred
async def test_refused(network: Network) -> None:
    from twisted.internet import reactor

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", closed)
    service = ClientService(endpoint, Factory.forProtocol(Protocol))
    service.startService()
    with pytest.raises(ConnectionRefusedError):
        await service.whenConnected(failAfterFailures=1)


def test_reactorClean() -> None:
    from twisted.internet import reactor

    assert reactor.getDelayedCalls() == []
