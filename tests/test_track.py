"""
L{NetworkTestCase.track} over real loopback sockets: ports, connectors and
protocols opened straight from the reactor.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase

from .helpers import (
    Events,
    LoggingProtocol,
    assertCleanRun,
    deferLaterTurn,
    lostCounts,
    portNumber,
    recorders,
    sample,
    teardownError,
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

    def test_untrackedPortReported(self) -> None:
        """
        Without C{track}, a port opened straight from the reactor and left
        open is reported as untracked: the tests above would fail if tracking
        did nothing.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            reactor.listenTCP(0, serverFactory, interface="127.0.0.1")

        result = sample(body)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "untracked port")
