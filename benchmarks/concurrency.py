"""
The teardown of one test that holds many connections at once: trialnet's
against the hand-written one (stop the port, close every client, and
C{gatherResults} over the port and every end's C{connectionLost}).

    python -m benchmarks.concurrency {trialnet|hand-written|floor} CONNECTIONS

Prints the teardown's duration in seconds, then C{PASSED}.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from twisted.internet import defer, protocol, task

from trialnet import Network

#: Big enough that no connection waits for a retransmitted SYN.
BACKLOG = 4096


class Tracked(protocol.Protocol):
    """
    Fires C{made} and C{lost}, for the hand-written teardown.
    """

    def __init__(self) -> None:
        self.made: defer.Deferred[None] = defer.Deferred()
        self.lost: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        self.made.callback(None)

    def connectionLost(self, reason: object = None) -> None:
        self.lost.callback(None)


class Collecting(protocol.ClientFactory):
    """
    Builds L{Tracked} protocols and keeps them.
    """

    def __init__(self) -> None:
        self.built: list[Tracked] = []

    def buildProtocol(self, addr: object) -> Tracked:
        built = Tracked()
        built.factory = self
        self.built.append(built)
        return built


async def handWritten(reactor: Any, count: int, bothEnds: bool = False) -> float:
    """
    Close the port and every client, and wait for all; with C{bothEnds},
    close every server end too (trialnet's Twisted work and no more).
    """
    serverFactory, clientFactory = Collecting(), Collecting()
    port = reactor.listenTCP(0, serverFactory, BACKLOG, "127.0.0.1")
    number = port.getHost().port
    for _ in range(count):
        reactor.connectTCP("127.0.0.1", number, clientFactory)
    while len(serverFactory.built) < count or len(clientFactory.built) < count:
        await task.deferLater(reactor, 0.01, lambda: None)
    ends = serverFactory.built + clientFactory.built
    await defer.gatherResults([end.made for end in ends])
    started = time.perf_counter()
    stopped = defer.maybeDeferred(port.stopListening)
    for end in ends if bothEnds else clientFactory.built:
        end.transport.loseConnection()  # type: ignore[union-attr]
    await defer.gatherResults([stopped] + [end.lost for end in ends])
    return time.perf_counter() - started


async def withTrialnet(reactor: Any, count: int) -> float:
    network = Network(reactor)
    port = network.listen(
        protocol.Factory.forProtocol(protocol.Protocol), 0, backlog=BACKLOG
    )
    clientFactory = protocol.Factory.forProtocol(protocol.Protocol)
    clients: list[protocol.Protocol] = await defer.gatherResults(
        [network.connect(port, clientFactory) for _ in range(count)]
    )
    await defer.gatherResults([network.serverProtocolFor(client) for client in clients])
    started = time.perf_counter()
    await network.close()
    return time.perf_counter() - started


async def floor(reactor: Any, count: int) -> float:
    return await handWritten(reactor, count, bothEnds=True)


VARIANTS = {"trialnet": withTrialnet, "hand-written": handWritten, "floor": floor}


def main(argv: list[str]) -> None:
    variant, count = VARIANTS[argv[0]], int(argv[1])

    async def run(reactor: Any) -> None:
        print(f"{await variant(reactor, count):.6f}")
        print("PASSED")

    task.react(lambda reactor: defer.ensureDeferred(run(reactor)))


if __name__ == "__main__":
    main(sys.argv[1:])
