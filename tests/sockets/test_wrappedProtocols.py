"""
Protocols inside wrapping ones: the protocol a C{ClientService} hands out
(the service's proxy wraps it), and the server protocols a
L{ProtocolWrapper<twisted.protocols.policies.ProtocolWrapper>} of the
application (a L{ThrottlingFactory<twisted.protocols.policies.ThrottlingFactory>},
a L{TimeoutFactory<twisted.protocols.policies.TimeoutFactory>}) wraps.
"""

# ruff: noqa: N999

from __future__ import annotations

import gc
from typing import Any

from twisted.application.internet import ClientService
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.protocols.policies import (
    ThrottlingFactory,
    ThrottlingProtocol,
    TimeoutFactory,
    TimeoutProtocol,
)
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    assertCleanRun,
    lostCounts,
    portNumber,
    recorders,
    sample,
)


class ClientServiceProtocolTests(SynchronousTestCase):
    """
    The protocol C{ClientService.whenConnected()} gives is a client of the
    network, although the service wraps it in a proxy of its own.
    """

    def test_serverProtocolForAndWhenClosed(self) -> None:
        """
        C{serverProtocolFor} finds the server end of the protocol a
        C{ClientService} gives, and C{whenClosed} of it fires once the
        server closed the connection.
        """
        from twisted.internet import reactor

        events = Events()
        serverFactory, clientFactory = recorders(events)
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            service = ClientService(endpoint, clientFactory)
            service.startService()
            client = await service.whenConnected()
            seen.append(client is clientFactory.built[0])
            server = await case.serverProtocolFor(client)
            seen.append(server is serverFactory.built[0])
            server.transport.loseConnection()  # type: ignore[attr-defined]
            await case.whenClosed(client)
            seen.append("client lost" in events.log)
            await service.stopService()

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(seen, [True, True, True])
        self.assertEqual(lostCounts(events), (1, 1))


class OutermostProtocolTests(SynchronousTestCase):
    """
    C{serverProtocolFor} and C{acceptedProtocol} give the application's
    protocol inside the wrappers of a wrapping factory, and the outermost
    one with C{unwrap=False}.
    """

    def test_throttlingFactory(self) -> None:
        """
        For a port of a C{ThrottlingFactory}, C{serverProtocolFor} gives the
        protocol it wraps, and with C{unwrap=False} its C{ThrottlingProtocol}
        around that protocol, as does an C{acceptedProtocol(unwrap=False)}
        wait begun before the client connected.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        found: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(ThrottlingFactory(serverFactory))
            pending = case.acceptedProtocol(port, unwrap=False)
            client = await case.connect(port, clientFactory)
            found.append(await pending)
            inner = await case.serverProtocolFor(client)
            outer = await case.serverProtocolFor(client, unwrap=False)
            typed = await case.serverProtocolFor(client, ThrottlingProtocol, False)
            # A wrapper forgets what it wrapped once its connection closed.
            found.extend([inner, outer, getattr(outer, "wrappedProtocol", None), typed])

        result = sample(body)

        assertCleanRun(self, result)
        accepted, inner, outer, wrapped, typed = found
        self.assertIs(accepted, outer)
        self.assertIs(inner, serverFactory.built[0])
        self.assertIsInstance(outer, ThrottlingProtocol)
        self.assertIs(wrapped, inner)
        self.assertIs(typed, outer)

    def test_aboveTLS(self) -> None:
        """
        Over TLS, C{unwrap=False} gives the outermost protocol of the
        application's factory, not the TLS protocol around it.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        found: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(ThrottlingFactory(serverFactory))
            client = await case.connect(port, clientFactory)
            found.append(await case.serverProtocolFor(client, unwrap=False))

        result = sample(body)

        assertCleanRun(self, result)
        self.assertIsInstance(found[0], ThrottlingProtocol)

    def test_tlsAroundAClient(self) -> None:
        """
        A client connected over TLS is known by the TLS protocol around it
        too, the one the reactor's transport holds: C{whenClosed()} of that
        one fires when the connection closes.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        outers: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(serverFactory)
            client: Any = await case.connect(port, clientFactory)
            outer = client.transport
            outers.append(outer)
            closing = case.whenClosed(outer)
            outer.loseConnection()
            await closing

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(type(outers[0]).__module__, "twisted.protocols.tls")

    def test_timeoutFactoryOfTheCodeUnderTest(self) -> None:
        """
        For a C{TimeoutFactory} port the code under test opened on the
        reactor, C{acceptedProtocol} gives the protocol it wraps, and with
        C{unwrap=False} its C{TimeoutProtocol} around that protocol.
        """
        from twisted.internet import reactor

        events = Events()
        serverFactory, clientFactory = recorders(events)
        found: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            # Twisted types listenTCP for factories of its own protocols only.
            timeouts: Any = TimeoutFactory(serverFactory, 60)
            port = reactor.listenTCP(0, timeouts, interface="127.0.0.1")
            await case.connect(port, clientFactory)
            await case.connect(port, clientFactory)
            found.append(await case.acceptedProtocol(port))
            outer = await case.acceptedProtocol(port, unwrap=False)
            found.extend([outer, getattr(outer, "wrappedProtocol", None)])

        result = sample(body)

        assertCleanRun(self, result)
        first, second, wrapped = found
        self.assertIs(first, serverFactory.built[0])
        self.assertIsInstance(second, TimeoutProtocol)
        self.assertIs(wrapped, serverFactory.built[1])

    def test_unawaitedWaitGivenUpQuietly(self) -> None:
        """
        An C{acceptedProtocol(unwrap=False)} wait nobody awaits, still
        pending at the teardown, is given up quietly, as one without
        C{unwrap}: no unhandled error is logged.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        def body(case: NetworkTestCase) -> None:
            case.acceptedProtocol(case.listen(serverFactory), unwrap=False)

        assertCleanRun(self, sample(body))
        gc.collect()
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_unwrapMustBeABool(self) -> None:
        """
        C{unwrap} is a C{bool}: anything else is a C{TypeError} saying so.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        messages: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            client = await case.connect(port, clientFactory)
            for call in (
                lambda: case.serverProtocolFor(client, unwrap=0),  # type: ignore[call-overload]
                lambda: case.acceptedProtocol(port, unwrap="no"),  # type: ignore[call-overload]
            ):
                messages.append(str(case.assertRaises(TypeError, call)))

        assertCleanRun(self, sample(body))
        self.assertEqual(
            messages,
            [
                "serverProtocolFor() takes unwrap=True or unwrap=False, not 0",
                "acceptedProtocol() takes unwrap=True or unwrap=False, not 'no'",
            ],
        )
