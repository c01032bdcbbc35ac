"""
L{NetworkTestCase.track} over real loopback sockets: ports, connectors and
protocols opened straight from the reactor.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    LoggingProtocol,
    assertCleanRun,
    deferLaterTurn,
    lostCounts,
    portNumber,
    recorders,
    sample,
)


class TrackTests(SynchronousTestCase):
    """
    L{NetworkTestCase.track} adopts what the code under test opened itself.
    """

    def test_trackedPortAndConnector(self) -> None:
        """
        A port and a connector opened straight from the reactor are closed,
        with their connections, and trial finds the reactor clean.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.track(
                reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
            )
            connector = case.track(
                reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
            )
            case.assertEqual(connector.state, "connecting")  # type: ignore[attr-defined]
            while len(serverFactory.built) < 1 or len(clientFactory.built) < 1:
                await deferLaterTurn()

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_trackedProtocol(self) -> None:
        """
        A connected protocol adopted with C{track} is closed and waited for.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor
            from twisted.internet.endpoints import (
                TCP4ClientEndpoint,
                connectProtocol,
            )

            port = case.listen(serverFactory)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            protocol = await connectProtocol(
                endpoint, LoggingProtocol(events, "client")
            )
            case.assertIs(case.track(protocol), protocol)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(events.count("client lost"), 1)

    def test_openedBeforeTheTest(self) -> None:
        """
        A port opened before the test began, which the teardown leaves alone
        by itself, is stopped once adopted with C{track}: trial finds the
        reactor clean and nothing listens there afterwards.
        """
        from twisted.internet import reactor

        events = Events()
        serverFactory, _ = recorders(events)
        port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)

        def body(case: NetworkTestCase) -> None:
            case.track(port)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertFalse(port.connected)  # type: ignore[attr-defined]
        self.assertEqual(
            events.log, ["server factory started", "server factory stopped"]
        )
