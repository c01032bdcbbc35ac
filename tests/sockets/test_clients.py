"""
Client connections over real loopback sockets: the callbacks a client
factory hears, and client factories whose callbacks run during the teardown.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet.defer import maybeDeferred
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    LoggingFactory,
    assertCleanRun,
    assertPassed,
    deferLaterTurn,
    lostCounts,
    openFiles,
    portNumber,
    recorders,
    sample,
    teardownError,
    warmUp,
)


class ApplicationCodeInTeardownTests(SynchronousTestCase):
    """
    Application callbacks that run during the teardown cannot derail it.
    """

    def test_factoryReconnects(self) -> None:
        """
        A client factory that connects its connector again gets a new
        protocol for the new connection, and the teardown closes that one
        too.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Reconnects(LoggingFactory):
            def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
                super().clientConnectionLost(connector, reason)
                if len(self.built) == 1:
                    connector.connect()

        clientFactory = Reconnects(events, "client")

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            client = await case.connect(port, clientFactory)
            client.transport.loseConnection()  # type: ignore[attr-defined]
            while events.count("server made") < 2:
                await deferLaterTurn()

        result = sample(body)

        assertCleanRun(self, result)
        first, second = clientFactory.built
        self.assertIsNot(first, second)
        self.assertEqual(lostCounts(events), (2, 2))

    def test_factoryReconnectsForever(self) -> None:
        """
        A client factory that connects again every time its connection is
        lost or refused, also during the teardown, cannot hold the teardown
        past its bound: its connector is stopped, the factory is reported,
        and no socket is left open.
        """
        events = Events()
        serverFactory, _ = recorders(events)

        class Reconnects(LoggingFactory):
            def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
                super().clientConnectionLost(connector, reason)
                connector.connect()

            def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
                super().clientConnectionFailed(connector, reason)
                connector.connect()

        clientFactory = Reconnects(events, "client")

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            await case.connect(port, clientFactory)

        warmUp()
        before = openFiles()
        started = time.monotonic()
        result = sample(body, disconnectTimeout=0.3)

        self.assertLess(time.monotonic() - started, 0.3 + 3.0)
        leftovers = teardownError(result).leftovers
        self.assertIn("Reconnects", leftovers[-1].kind)
        self.assertIn("still running", leftovers[-1].action)
        self.assertEqual(openFiles() - before, set())


class ClientFactoryCallbackTests(SynchronousTestCase):
    """
    A C{ClientFactory} connected through trialnet hears the callbacks it
    would hear through the reactor's own C{connectTCP}.
    """

    def test_clientFactoryCallbacksInOrder(self) -> None:
        """
        A C{ClientFactory} hears C{startedConnecting} and
        C{clientConnectionLost} around its protocol's life, as with
        C{connectTCP}.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            # Added before the network exists, so it runs after its close.
            case.addCleanup(events.log.append, "teardown finished")
            port = case.listen(serverFactory)
            await case.connect(port, clientFactory)

        result = sample(body)

        assertCleanRun(self, result)
        clientEvents = [e for e in events.log if not e.startswith("server")]
        self.assertEqual(
            clientEvents,
            [
                "client factory started",
                "startedConnecting",
                "client made",
                "client lost",
                "clientConnectionLost",
                "client factory stopped",
                "teardown finished",
            ],
        )

    def test_clientFactoryOrderMatchesReactor(self) -> None:
        """
        Through a connection the test closes and one that is refused, a
        C{ClientFactory} hears the same callbacks in the same order through
        C{connect} as through the reactor's own C{connectTCP}.
        """

        def clientEvents(throughTrialnet: bool) -> list[str]:
            events = Events()
            serverFactory, clientFactory = recorders(events)

            async def untilLogged(event: str) -> None:
                while event not in events.log:
                    await deferLaterTurn()

            async def body(case: NetworkTestCase) -> None:
                from twisted.internet import reactor

                port = case.listen(serverFactory)
                gone = case.listen(Factory())
                refused = portNumber(gone)
                await maybeDeferred(gone.stopListening)
                for number in (portNumber(port), refused):
                    if throughTrialnet:
                        attempt = case.connect(("127.0.0.1", number), clientFactory)
                        attempt.addErrback(lambda failure: None)
                    else:
                        case.track(
                            reactor.connectTCP("127.0.0.1", number, clientFactory)
                        )
                    if number == refused:
                        await untilLogged("clientConnectionFailed")
                        continue
                    await untilLogged("client made")
                    clientFactory.built[0].transport.loseConnection()  # type: ignore[union-attr]
                    await untilLogged("clientConnectionLost")

            result = sample(body)
            assertCleanRun(self, result)
            return [e for e in events.log if not e.startswith("server")]

        self.assertEqual(clientEvents(True), clientEvents(False))
        self.assertIn("clientConnectionFailed", clientEvents(True))


class RestartedPortTests(SynchronousTestCase):
    """
    C{connect()} reaches a port where it listens now.
    """

    def test_stoppedThenStarted(self) -> None:
        """
        A port listening on port 0 that the test stopped cannot be connected
        to; started again (on a new number), C{connect()} reaches it there.
        """
        numbers: list[int] = []
        errors: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Protocol))
            numbers.append(portNumber(port))
            await maybeDeferred(port.stopListening)
            try:
                await case.connect(port, Protocol())
            except ValueError as error:
                errors.append(str(error))
            port.startListening()
            numbers.append(portNumber(port))
            client = await case.connect(port, Protocol())
            assert client.transport is not None
            numbers.append(client.transport.getPeer().port)  # type: ignore[attr-defined]

        assertPassed(self, sample(body))
        self.assertIn("is not listening", errors[0])
        self.assertNotEqual(numbers[0], numbers[1])
        self.assertEqual(numbers[1], numbers[2])
