"""
The suites the process benchmark compares: one test against a server in a
child process (start it, one round trip, tear down), with C{spawnServer()}
(socket activation), and written by hand with C{reactor.spawnProcess} and
a port read from the child's stdout; and empty tests, whose time is
subtracted.  The child is the same Twisted echo server either way
(C{benchmarks/process_child.py}).

C{TRIALNET_BENCH_TESTS} sets how many tests each suite has.
"""

from __future__ import annotations

import os
import sys
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from trialnet import NetworkTestCase

from .cases import Client, HandClient, QuietClientFactory

COUNT = int(os.environ.get("TRIALNET_BENCH_TESTS", "50"))

#: The child, run with this interpreter.
CHILD = [
    sys.executable,
    "-I",
    os.path.join(os.path.dirname(__file__), "process_child.py"),
]


async def _spawnServer(self: NetworkTestCase) -> None:
    server = await self.spawnServer([*CHILD, "activated"])
    client = cast(
        Client, await self.connect(server, QuietClientFactory.forProtocol(Client))
    )
    assert client.transport is not None
    client.transport.write(b"ping")
    await client.echoed


class _PortReader(ProcessProtocol):
    """
    Reads the child's port from its first line of stdout, and says when it
    ended.
    """

    def __init__(self) -> None:
        self.port: Deferred[int] = Deferred()
        self.ended: Deferred[None] = Deferred()
        self._buffer = b""

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        if b"\n" in self._buffer and not self.port.called:
            self.port.callback(int(self._buffer.split(b"\n")[0].split()[-1]))

    def processEnded(self, reason: Failure) -> None:
        if not self.port.called:
            self.port.errback(reason)
        if reason.check(ProcessDone, ProcessTerminated):
            self.ended.callback(None)
        else:
            self.ended.errback(reason)


class _HandFactory(QuietClientFactory):
    protocol = HandClient

    def __init__(self) -> None:
        self.onConnectionMade: Deferred[HandClient] = Deferred()
        self.onConnectionLost: Deferred[HandClient] = Deferred()


async def _byHand(self: TestCase) -> None:
    """
    The same test written by hand: spawn, read the port, connect, echo,
    close the connection and wait, stop the child and wait for its end.
    """
    from twisted.internet import reactor

    reader = _PortReader()
    process = reactor.spawnProcess(
        reader, CHILD[0], [*CHILD, "printsPort"], env=dict(os.environ)
    )
    try:
        port = await reader.port
        factory = _HandFactory()
        reactor.connectTCP("127.0.0.1", port, factory)
        client = await factory.onConnectionMade
        assert client.transport is not None
        client.transport.write(b"ping")
        await client.echoed
        client.transport.loseConnection()
        await factory.onConnectionLost
    finally:
        process.signalProcess("TERM")
        await reader.ended


def _repeat(method: object) -> dict[str, object]:
    return {f"test_{i:05d}": method for i in range(COUNT)}


def _empty(self: TestCase) -> None:
    pass


EmptyTests = type("EmptyTests", (TestCase,), _repeat(_empty))
SpawnServerTests = type("SpawnServerTests", (NetworkTestCase,), _repeat(_spawnServer))
ByHandTests = type("ByHandTests", (TestCase,), _repeat(_byHand))
