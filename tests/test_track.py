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
    runSample,
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

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                from twisted.internet import reactor

                port = self.track(
                    reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
                )
                connector = self.track(
                    reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
                )
                self.assertEqual(connector.state, "connecting")  # type: ignore[attr-defined]
                while len(serverFactory.built) < 1 or len(clientFactory.built) < 1:
                    await deferLaterTurn()

        result = runSample(Sample)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_trackedProtocol(self) -> None:
        """
        A connected protocol adopted with C{track} is closed and waited for.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                from twisted.internet import reactor
                from twisted.internet.endpoints import (
                    TCP4ClientEndpoint,
                    connectProtocol,
                )

                port = self.listen(serverFactory)
                endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
                protocol = await connectProtocol(
                    endpoint, LoggingProtocol(events, "client")
                )
                self.assertIs(self.track(protocol), protocol)

        result = runSample(Sample)

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

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                from twisted.internet import reactor

                reactor.listenTCP(0, serverFactory, interface="127.0.0.1")

        result = runSample(Sample)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "untracked port")
