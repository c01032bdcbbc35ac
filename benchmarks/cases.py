"""
The test suites the benchmark compares.  Each does the same work per test:
listen on 127.0.0.1 port 0, connect one client, wait until both ends are
connected, echo 4 bytes, and tear down waiting for the port and both ends.

C{TRIALNET_BENCH_TESTS} sets how many tests each suite has.
"""

from __future__ import annotations

import os
from typing import Any, cast

import twisted.internet
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


def _close(
    port: Any, connector: Any, server: Any, factories: list[Any]
) -> defer.Deferred[Any]:
    """
    Stop listening, disconnect the client, close the server end too unless
    C{server} is C{None}, and wait for the port and both ends.
    """
    stopped = defer.maybeDeferred(port.stopListening)
    connector.disconnect()
    if server is not None:
        server.transport.loseConnection()
    return defer.gatherResults([stopped, *(f.onConnectionLost for f in factories)])


def _handWritten(
    host: str, bothEnds: bool = False, inCleanup: bool = False
) -> type[unittest.TestCase]:
    """
    The blog post's pattern: three Deferreds, awaited at the test's end.  With
    C{bothEnds}, the server end is closed too rather than left to read the
    client's close: trialnet's Twisted work and no more, the floor.  With
    C{inCleanup} too, that close is registered with C{addCleanup} (trial
    waits for it after the test method) rather than awaited in the test: the
    mechanism the design names for trialnet's teardown.
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
        closing = (port, connector, server if bothEnds else None)
        factories = [clientFactory, serverFactory]
        if inCleanup:
            self.addCleanup(_close, *closing, factories)
        else:
            await _close(*closing, factories)

    return type("HandWrittenTests", (unittest.TestCase,), _repeat(test))


HandWrittenTests = _handWritten("127.0.0.1")
HandWrittenLocalhostTests = _handWritten("localhost")
HandWrittenBothEndsTests = _handWritten("127.0.0.1", bothEnds=True)


#: The names trialnet's observer wraps on the reactor, for the second
#: design floor.
OBSERVED = (
    "listenTCP",
    "listenSSL",
    "listenUNIX",
    "listenUDP",
    "connectTCP",
    "connectSSL",
    "connectUNIX",
    "spawnProcess",
)


#: The wrappers, made once, as trialnet makes its own once a reactor.
_WRAPPERS: dict[str, Any] = {}


def _wrappersOf(reactor: Any) -> dict[str, Any]:
    if not _WRAPPERS:
        for name in OBSERVED:
            original = getattr(reactor, name)

            def opening(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                return _original(*args, **kwargs)

            _WRAPPERS[name] = opening
    return _WRAPPERS


class _ObservedReactor(unittest.TestCase):
    """
    The reactor's opening methods replaced on the instance by wrappers that
    only pass the call through, from before C{setUp} until after the
    cleanups, as trialnet's observer does: the least that observing what
    the code under test opens can cost.  Unlike trialnet's observer, it
    neither keeps nor puts back what the reactor's instance had under these
    names (nothing, in the benchmark's own process), and its wrappers call
    the methods of the first reactor they saw.
    """

    def run(self, result: Any) -> None:  # type: ignore[override]
        # Read as trialnet's own run reads it: the package's attribute once
        # a reactor is installed (Twisted 24.7 sets it only at the first
        # import of the reactor), else the import.
        reactor: Any = vars(twisted.internet).get("reactor")
        if reactor is None:
            from twisted.internet import reactor
        instance = vars(reactor)
        instance.update(_wrappersOf(reactor))
        try:
            super().run(result)
        finally:
            for name in OBSERVED:
                instance.pop(name, None)


#: Design floors: the floor's Twisted work with what the design requires
#: of any implementation, and no trialnet.  First the teardown as a
#: cleanup, then the reactor observed too.
CleanupFloorTests = _handWritten("127.0.0.1", bothEnds=True, inCleanup=True)
ObservedFloorTests = type(
    "ObservedFloorTests", (_ObservedReactor, CleanupFloorTests), {}
)


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
