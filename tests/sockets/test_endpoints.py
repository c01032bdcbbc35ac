"""
Endpoints: trialnet's own, endpoints given to C{connect}, and endpoints
adopted with C{track}, all joining the teardown.
"""

from __future__ import annotations

import time

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
)
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.task import deferLater
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    assertCleanRun,
    closedNetwork,
    errorTypes,
    lostCounts,
    portNumber,
    recorders,
    sample,
)


class TrialnetEndpointTests(SynchronousTestCase):
    """
    C{serverEndpoint} and C{clientEndpoint} hand tracked ports and
    connections to code that takes endpoints.
    """

    def test_providesInterfaces(self) -> None:
        """
        The endpoints provide the stream endpoint interfaces.
        """
        network = closedNetwork(self)
        server = network.serverEndpoint()
        self.assertTrue(verifyObject(IStreamServerEndpoint, server))
        client = network.clientEndpoint(("127.0.0.1", 1))
        self.assertTrue(verifyObject(IStreamClientEndpoint, client))

    def test_everyTransport(self) -> None:
        """
        Over TCP, TLS and UNIX, a port from C{serverEndpoint} and a client
        from C{clientEndpoint} echo, and both ends close at the teardown.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        echoed: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            for transport in ("tcp", "tls", "unix"):
                endpoint = case.serverEndpoint(transport)
                port = await endpoint.listen(serverFactory)
                client = await case.clientEndpoint(port).connect(clientFactory)
                client.transport.write(transport.encode())  # type: ignore[attr-defined]
                echoed.append(await client.waitForData())  # type: ignore[attr-defined]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(echoed, [b"tcp", b"tls", b"unix"])
        self.assertEqual(lostCounts(events), (3, 3))

    def test_connectAfterTeardownFails(self) -> None:
        """
        A client endpoint used after its network closed fails its Deferred
        instead of raising into the code under test.
        """
        events = Events()
        _, clientFactory = recorders(events)
        endpoints: list[IStreamClientEndpoint] = []

        def body(case: NetworkTestCase) -> None:
            endpoints.append(case.clientEndpoint(("127.0.0.1", 1)))

        sample(body)
        failures: list[object] = []
        endpoints[0].connect(clientFactory).addErrback(
            lambda failure: failures.append(failure.type)
        )

        self.assertEqual(failures, [RuntimeError])


@implementer(IStreamClientEndpoint)
class NeverConnects:
    """
    A client endpoint whose connection attempt never ends, and that records
    being cancelled.
    """

    def __init__(self) -> None:
        self.cancelled = False

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        def cancel(deferred: Deferred[IProtocol]) -> None:
            self.cancelled = True

        return Deferred(cancel)


class OtherEndpointTests(SynchronousTestCase):
    """
    Endpoints from elsewhere join the teardown through C{connect} and
    C{track}.
    """

    def test_connectThroughEndpoint(self) -> None:
        """
        C{connect} takes any client endpoint; the connection it makes is
        closed at the teardown.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            client = await case.connect(endpoint, clientFactory)
            await case.serverProtocolFor(client)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_connectThroughHostnameEndpoint(self) -> None:
        """
        A C{HostnameEndpoint} connects later, from a reactor turn, where the
        reactor's observer sees its C{connectTCP}: trialnet still knows the
        factory under the endpoint's wrapping one as its own attempt's, so
        even with strict cleanup the test passes with nothing reported, and
        both ends are closed.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            endpoint = HostnameEndpoint(reactor, b"127.0.0.1", portNumber(port))
            client = await case.connect(endpoint, clientFactory)
            await case.serverProtocolFor(client)

        result = sample(body, strictCleanup=True)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_pendingEndpointCancelled(self) -> None:
        """
        An endpoint connect still pending at the teardown is cancelled, and
        nobody waiting for it leaves an unhandled error.
        """
        events = Events()
        _, clientFactory = recorders(events)
        endpoint = NeverConnects()
        outcomes: list[object] = []

        def body(case: NetworkTestCase) -> None:
            case.connect(endpoint, clientFactory).addErrback(
                lambda failure: outcomes.append(failure.type)
            )

        result = sample(body)

        assertCleanRun(self, result)
        self.assertTrue(endpoint.cancelled)
        self.assertEqual(outcomes, [CancelledError])

    def test_trackedEndpoints(self) -> None:
        """
        Endpoints adopted with C{track} make tracked ports and connections:
        the test leaves them open and trial finds the reactor clean.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            serverEndpoint = case.track(
                TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
            )
            port = await serverEndpoint.listen(serverFactory)
            clientEndpoint = case.track(
                TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            )
            client = await clientEndpoint.connect(clientFactory)
            await case.serverProtocolFor(client)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(events.count("server factory stopped"), 1)


@implementer(IStreamClientEndpoint)
class CancelRaises:
    """
    A client endpoint that never connects and whose canceller raises.
    """

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        def cancel(deferred: Deferred[IProtocol]) -> None:
            raise RuntimeError("cannot cancel")

        return Deferred(cancel)


@implementer(IStreamServerEndpoint)
class SlowToListen:
    """
    A server endpoint whose port starts listening a moment after it is asked.
    """

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        from twisted.internet import reactor

        endpoint = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        return deferLater(reactor, 0.05, endpoint.listen, protocolFactory)


@implementer(IStreamServerEndpoint)
class RaisesAtOnce:
    """
    A server endpoint whose C{listen} raises instead of failing its
    Deferred.
    """

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        raise OSError("the address is taken")


class EndpointTeardownTests(SynchronousTestCase):
    """
    Endpoints that misbehave, or are still busy, at the teardown.
    """

    def test_listenRaisesAtOnce(self) -> None:
        """
        A tracked server endpoint whose C{listen} raises fails its Deferred
        with the error, leaves the factory as it was, and leaves nothing for
        the teardown to wait for: the test passes at once.
        """
        events = Events()
        serverFactory, _ = recorders(events)
        raised: list[object] = []

        def body(case: NetworkTestCase) -> None:
            endpoint = case.track(RaisesAtOnce())
            endpoint.listen(serverFactory).addErrback(lambda f: raised.append(f.type))

        started = time.monotonic()
        result = sample(body, disconnectTimeout=2.0)

        assertCleanRun(self, result)
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertEqual(raised, [OSError])
        self.assertNotIn("buildProtocol", vars(serverFactory))

    def test_cancelRaises(self) -> None:
        """
        An endpoint whose canceller raises does not hang the teardown: the
        run ends, reporting the canceller's error.
        """
        events = Events()
        _, clientFactory = recorders(events)

        def body(case: NetworkTestCase) -> None:
            case.connect(CancelRaises(), clientFactory).addErrback(lambda f: None)

        started = time.monotonic()
        result = sample(body, disconnectTimeout=0.3)

        self.assertLess(time.monotonic() - started, 0.3 + 3.0)
        self.assertIn(RuntimeError, errorTypes(result))

    def test_pendingListen(self) -> None:
        """
        A tracked server endpoint still starting to listen when the test
        ends is waited for, and its port is stopped: trial finds the reactor
        clean.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        def body(case: NetworkTestCase) -> None:
            case.track(SlowToListen()).listen(serverFactory)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(
            events.log, ["server factory started", "server factory stopped"]
        )

    def test_ownEndpointsPassThrough(self) -> None:
        """
        trialnet's own endpoints given back to C{connect} and C{track} work
        as themselves.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            serverEndpoint = case.serverEndpoint()
            case.assertIs(case.track(serverEndpoint), serverEndpoint)
            port = await serverEndpoint.listen(serverFactory)
            clientEndpoint = case.clientEndpoint(port)
            case.assertIs(case.track(clientEndpoint), clientEndpoint)
            await case.connect(clientEndpoint, clientFactory)
            await clientEndpoint.connect(clientFactory)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (2, 2))
