"""
The order in which trial runs a L{NetworkTestCase}'s cleanups, C{tearDown}
and trialnet's teardown, found by running a test that records each of them.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IAddress, IListeningPort
from twisted.internet.protocol import Factory, ServerFactory, connectionDone
from twisted.protocols.basic import LineReceiver
from twisted.python.failure import Failure
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase, Recorder


def runRecorded() -> tuple[list[str], TestResult]:
    """
    Run a test that records its cleanups, its C{tearDown} and the moment
    trialnet's teardown closes its connection.

    @return: What happened, in order, and the test's result.
    """
    events: list[str] = []

    class Recorded(NetworkTestCase):
        def setUp(self) -> None:
            self.addCleanup(events.append, "cleanup added in setUp")

        async def test_recorded(self) -> None:
            port = self.listen(Factory.forProtocol(Recorder))
            client = await self.connect(port, Recorder())
            self.whenClosed(client).addCallback(
                lambda _: events.append("trialnet's teardown closed the connection")
            )
            self.addCleanup(events.append, "cleanup added by the test")

        def tearDown(self) -> None:
            events.append("tearDown")

    result = TestResult()
    Recorded("test_recorded").run(result)
    return events, result


class OrderTests(SynchronousTestCase):
    """
    What trial and trialnet run after a test, and in which order.
    """

    def test_order(self) -> None:
        """
        Cleanups run last in, first out, and before C{tearDown}; trialnet's
        teardown is the cleanup registered when the test first opened
        something, so it runs after the cleanups added later and before
        those added earlier.
        """
        events, result = runRecorded()
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(
            events,
            [
                "cleanup added by the test",
                "trialnet's teardown closed the connection",
                "cleanup added in setUp",
                "tearDown",
            ],
        )


class Farewell(LineReceiver):
    """
    A client's connection, to be told goodbye.

    @ivar closed: Whether the connection closed.
    """

    closed = False

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed = True
        super().connectionLost(reason)


class FarewellFactory(ServerFactory):
    """
    Keeps every connection it made.
    """

    def __init__(self) -> None:
        self.clients: list[Farewell] = []

    def buildProtocol(self, addr: IAddress | None) -> Farewell:
        client = Farewell()
        client.factory = self
        self.clients.append(client)
        return client


class FarewellService(Service):
    """
    Listens once started; says C{BYE} to every client as it stops.

    @ivar toldWhileOpen: How many goodbyes went to a connection still open.
    """

    port: IListeningPort
    toldWhileOpen = 0

    def startService(self) -> None:
        from twisted.internet import reactor

        super().startService()
        self.factory = FarewellFactory()
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")

    def stopService(self) -> Deferred[None]:
        super().stopService()
        for client in self.factory.clients:
            self.toldWhileOpen += not client.closed
            client.sendLine(b"BYE")
        stopped = self.port.stopListening()
        # A port stopped already returns None.
        return succeed(None) if stopped is None else stopped


class StopServiceTests(NetworkTestCase):
    """
    Where C{stopService} belongs in a test.
    """

    def setUp(self) -> None:
        self.service = FarewellService()
        self.service.startService()

    async def test_stopInTheTest(self) -> None:
        """
        What a service does as it stops is tested in the test: its
        connections are still open there.
        """
        client = await self.connect(self.service.port, Recorder())
        await self.service.stopService()
        self.assertEqual(await client.readLine(), b"BYE")
        self.assertEqual(self.service.toldWhileOpen, 1)


class StopInTearDownTests(NetworkTestCase):
    """
    Why C{stopService} does not belong in C{tearDown}.
    """

    def setUp(self) -> None:
        self.service = FarewellService()
        self.service.startService()

    async def test_stopInTearDown(self) -> None:
        """
        Stopped in C{tearDown}, the service finds its connections already
        closed by trialnet's teardown (its goodbye goes nowhere) and its port
        already stopped (stopping it again is harmless).
        """
        await self.connect(self.service.port, Recorder())

    def tearDown(self) -> None:
        stopped = self.service.stopService()
        self.assertEqual(self.service.toldWhileOpen, 0)
        self.successResultOf(stopped)
