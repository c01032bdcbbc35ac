"""
C{serverProtocolFor} pairs every client with the server end its port built
for it, whoever connected it and however: IPv4 clients of a dual-stack port,
UNIX ports sharing a factory, clients through endpoints, a factory that is
both server and client; and a wait for a server end cut short by trial's
timeout leaves nothing behind for the next test.
"""

from __future__ import annotations

import gc
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.internet.protocol import Protocol
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    LoggingFactory,
    LoggingProtocol,
    assertPassed,
    ipv6Missing,
    lostCounts,
    portNumber,
    recorders,
    sample,
)

_T = TypeVar("_T")

#: Seconds a sample waits for a pairing or for bytes before it fails rather
#: than hangs.
BOUND = 3.0


def bounded(waiting: Deferred[_T]) -> Deferred[_T]:
    """
    Fail C{waiting} with a timeout after L{BOUND} seconds, so that a pairing
    that never comes fails the sample instead of hanging it.
    """
    from twisted.internet import reactor

    return waiting.addTimeout(BOUND, reactor)


async def assertPaired(client: Any, server: Any, token: bytes) -> None:
    """
    Assert C{server} is the other end of C{client}: what the server writes
    is what the client receives.
    """
    arrived = bounded(client.waitForData())
    server.transport.write(token)
    received = await arrived
    assert received == token, (received, token)


class BuildFailedError(Exception):
    """
    What a factory's C{buildProtocol} raised.
    """


class FailsOnce(LoggingFactory):
    """
    A server factory whose C{buildProtocol} raises the first time.

    @ivar raised: Fires once it has raised.
    """

    def __init__(self, events: Events, role: str) -> None:
        super().__init__(events, role)
        self.raised: Deferred[None] = Deferred()

    def buildProtocol(self, addr: object) -> Protocol:
        if not self.raised.called:
            self.raised.callback(None)
            raise BuildFailedError("buildProtocol broke")
        return super().buildProtocol(addr)


class PairingTests(SynchronousTestCase):
    """
    C{serverProtocolFor} finds the right server end.
    """

    def test_ipv4ClientOfDualStackPort(self) -> None:
        """
        An IPv4 client of a port listening on C{"::"} (whose server end sees
        the peer as C{::ffff:127.0.0.1}) is paired with its server end.
        """
        if ipv6Missing():
            raise self.skipTest(ipv6Missing())
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory, interface="::")
            client = await case.connect(("127.0.0.1", portNumber(port)), clientFactory)
            server = await bounded(case.serverProtocolFor(client))
            await assertPaired(client, server, b"dual")

        assertPassed(self, sample(body, timeout=10))
        self.assertEqual(lostCounts(events), (1, 1))

    def test_twoUNIXPortsOneFactory(self) -> None:
        """
        With two UNIX ports sharing one factory, each client is paired with
        the server end its own port accepted.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            first = case.listenUNIX(serverFactory)
            second = case.listenUNIX(serverFactory)
            firstClient = await case.connect(first, clientFactory)
            secondClient = await case.connect(second, clientFactory)
            secondServer = await bounded(case.serverProtocolFor(secondClient))
            firstServer = await bounded(case.serverProtocolFor(firstClient))
            await assertPaired(firstClient, firstServer, b"first")
            await assertPaired(secondClient, secondServer, b"second")

        assertPassed(self, sample(body, timeout=10))
        self.assertEqual(lostCounts(events), (2, 2))

    def test_unixFactoryRaisedOnce(self) -> None:
        """
        On a UNIX port whose factory's C{buildProtocol} raised once, the
        connection it raised for is refused, and the next client is paired
        with its own server end.
        """
        events = Events()
        serverFactory = FailsOnce(events, "server")
        clientFactory = LoggingFactory(events, "client")

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUNIX(serverFactory)
            await case.connect(port, clientFactory)
            await bounded(serverFactory.raised)
            client = await case.connect(port, clientFactory)
            server = await bounded(case.serverProtocolFor(client))
            await assertPaired(client, server, b"second")
            case.assertEqual(len(case.flushLoggedErrors(BuildFailedError)), 1)

        assertPassed(self, sample(body, timeout=10))

    def test_unixClientThroughEndpoint(self) -> None:
        """
        After a client came through C{connect(UNIXClientEndpoint(...))},
        both it and a later C{connect()} client of the same UNIX port are
        paired with their own server ends.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listenUNIX(serverFactory)
            endpoint = UNIXClientEndpoint(reactor, port.getHost().name)  # type: ignore[attr-defined]
            throughEndpoint = await case.connect(endpoint, clientFactory)
            direct = await case.connect(port, clientFactory)
            directServer = await bounded(case.serverProtocolFor(direct))
            endpointServer = await bounded(case.serverProtocolFor(throughEndpoint))
            await assertPaired(direct, directServer, b"direct")
            await assertPaired(throughEndpoint, endpointServer, b"endpoint")

        assertPassed(self, sample(body, timeout=10))
        self.assertEqual(lostCounts(events), (2, 2))

    def test_unixClientThroughTrackedEndpoint(self) -> None:
        """
        After a client came through a C{track()}ed UNIX endpoint, both it and
        a later C{connect()} client of the same port are paired with their
        own server ends.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listenUNIX(serverFactory)
            path = port.getHost().name  # type: ignore[attr-defined]
            endpoint = case.track(UNIXClientEndpoint(reactor, path))
            throughEndpoint = await endpoint.connect(clientFactory)
            direct = await case.connect(port, clientFactory)
            directServer = await bounded(case.serverProtocolFor(direct))
            endpointServer = await bounded(case.serverProtocolFor(throughEndpoint))
            await assertPaired(direct, directServer, b"direct")
            await assertPaired(throughEndpoint, endpointServer, b"endpoint")

        assertPassed(self, sample(body, timeout=10))
        self.assertEqual(lostCounts(events), (2, 2))

    def test_peerToPeerFactory(self) -> None:
        """
        One factory given to both C{listen()} and C{connect()} (peer to
        peer): its client is not taken for a server end, a second
        C{connect()} does not fail as already connected, and each client is
        paired with the end the port built for it.
        """
        events = Events()
        factory = LoggingFactory(events, "peer")
        found: list[bool] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(factory)
            for token in (b"one", b"two"):
                client = await case.connect(port, factory)
                server = await bounded(case.serverProtocolFor(client))
                found.append(server is not client)
                found.append(server.transport.getHost().port == portNumber(port))  # type: ignore[attr-defined]
                await assertPaired(client, server, token)

        assertPassed(self, sample(body, timeout=10))
        self.assertEqual(found, [True] * 4)
        self.assertEqual(events.count("peer lost"), 4)


@implementer(ILogObserver)
class LoggedErrors:
    """
    Keeps the text of every error logged while it observes.
    """

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, event: LogEvent) -> None:
        failure = event.get("log_failure")
        if failure is not None or event.get("isError"):
            self.texts.append(f"{failure!r} {event.get('why') or ''}")


class TimedOutWaitTests(SynchronousTestCase):
    """
    A test that times out waiting in C{serverProtocolFor} leaves nothing to
    the next one.
    """

    def test_nextSampleClean(self) -> None:
        """
        After a sample that hits trial's timeout while waiting for a server
        end that never comes (its port does not accept), the next sample
        passes and nothing (no C{AlreadyCalledError}) is logged while it
        runs.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def waitsForever(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            port.stopReading()  # type: ignore[attr-defined]
            client = await case.connect(port, clientFactory)
            await case.serverProtocolFor(client)

        async def echoes(case: NetworkTestCase) -> None:
            gc.collect()
            port = case.listen(serverFactory)
            client: LoggingProtocol = await case.connect(port, clientFactory)  # type: ignore[assignment]
            arrived = client.waitForData()
            client.transport.write(b"ping")  # type: ignore[union-attr]
            await arrived
            gc.collect()

        first = sample(waitsForever, timeout=0.5)
        self.assertEqual(first.successes, 0)
        logged = LoggedErrors()
        globalLogPublisher.addObserver(logged)
        try:
            second = sample(echoes)
            gc.collect()
        finally:
            globalLogPublisher.removeObserver(logged)

        assertPassed(self, second)
        self.assertEqual(logged.texts, [])


class FirstEntryTests(SynchronousTestCase):
    """
    The containers a registry and its pairing make only at their first entry
    belong to that registry alone.
    """

    def test_ownContainers(self) -> None:
        """
        Entries made in one registry (a link's crossing, a UNIX path's
        count, an alias, a waiter for an accepted or outermost
        protocol) are not seen by another, and its release leaves it
        usable.
        """
        from twisted.internet import reactor

        from trialnet._sockets._registry import Registry

        first, second = Registry(reactor, print), Registry(reactor, print)
        key = ("tcp", "127.0.0.1", 1234)
        first.noteCrossing(key, "a link")
        self.assertEqual((first.crossing(key), second.crossing(key)), ("a link", ""))
        self.assertEqual(first.pairing.nextKey("client", "/p"), ("unix", "/p", 1))
        self.assertEqual(first.pairing.nextKey("client", "/p"), ("unix", "/p", 2))
        self.assertEqual(second.pairing.nextKey("client", "/p"), ("unix", "/p", 1))
        first.pairing.alias(key, ("tcp", "127.0.0.1", 5678))
        self.assertEqual(first.pairing._aliases, {key: ("tcp", "127.0.0.1", 5678)})
        self.assertEqual(dict(second.pairing._aliases), {})
        port = object()
        accepted = first.pairing.accepted(port, unwrap=False)
        self.assertFalse(accepted.called)
        self.assertEqual(set(first.pairing._outermost), {accepted})
        self.assertEqual(set(second.pairing._outermost), set())
        self.assertEqual(list(second.pairing._acceptWaiters), [])
        first.forget()
        self.assertEqual(first.crossing(key), "")
        # Released: failed (quietly, nobody awaits it).
        self.assertTrue(accepted.called)
        self.assertEqual(first.pairing.nextKey("client", "/p"), ("unix", "/p", 3))
        self.assertFalse(second.pairing.accepted(port).called)
        # Made again at their next first entry, after the release.
        first.pairing.alias(key, ("tcp", "127.0.0.1", 91))
        self.assertEqual(first.pairing._aliases, {key: ("tcp", "127.0.0.1", 91)})
        again = first.pairing.accepted(port, unwrap=False)
        self.assertEqual(set(first.pairing._outermost), {again})
        self.assertEqual(list(first.pairing._acceptWaiters[port]), [again])
