"""
Sample tests of trialnet's C{network} fixture in virtual time under
pytest-twisted, run in a pytest process by C{tests/time/test_pytest.py},
which checks their outcomes.  The file name does not start with C{test_}, so
neither trial nor pytest collects it from the suite.
"""

from __future__ import annotations

import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from trialnet import Network, Recorder


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]


@pytest.mark.virtual_time
@pytest_twisted.ensureDeferred
async def test_anHour(network: Network) -> None:
    assert network.virtualTime
    port = network.listen(Factory.forProtocol(Echo))
    client = await network.connect(port, Recorder())
    before, real = reactor.seconds(), time.monotonic()
    await deferLater(reactor, 3600, lambda: None)
    assert reactor.seconds() - before >= 3600
    assert time.monotonic() - real < 10
    for _ in range(50):
        client.send(b"x" * 1000)
        waiting = client.waitForBytes(len(client.received) + 1000, timeout=10)
        waiting.addTimeout(5, reactor)
        await waiting


@pytest.mark.virtual_time
@pytest_twisted.ensureDeferred
async def test_thread(network: Network) -> None:
    working = deferToThread(time.sleep, 0.3)
    working.addTimeout(5, reactor)
    await working


@pytest_twisted.ensureDeferred
async def test_realAfterwards(network: Network) -> None:
    assert not network.virtualTime
    assert abs(reactor.seconds() - time.time()) < 1


@pytest.mark.virtual_time("yes")
def test_badMarker(network: Network) -> None:
    pass
