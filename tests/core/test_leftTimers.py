"""
Timers the code under test leaves when the test ends (a C{ClientService}
waiting to retry, an C{HTTPConnectionPool}'s expiry of a cached connection)
stop with the test's teardown: the test passes, nothing is left in the
reactor for the next test, and strict cleanup names them.  trial's own
timers are never among them.
"""

# ruff: noqa: N999

from __future__ import annotations

import os
import socket
from typing import Any

from twisted.application.internet import ClientService
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.protocol import (
    Factory,
    Protocol,
    ReconnectingClientFactory,
    ServerFactory,
    connectionDone,
)
from twisted.internet.task import Clock, deferLater
from twisted.python.failure import Failure
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase, TestSuite
from twisted.web.server import Site

from trialnet import NetworkTestCase, Recorder
from trialnet._core._owners import forgetPooled

from ..helpers import Hello, assertPassed, portNumber, sample, teardownError
from ..sockets.test_observedFixture import ROOT, runPytest

#: The pytest samples of a service waiting to retry when its test ends.
LEFT_TIMERS = os.path.join(ROOT, "tests", "pytest_samples", "left_timers.py")

#: What a strict report says of a timer left pending when the test ended.
LEFT_PENDING = "left pending by the code under test when the test ended"


def markedLine(marker: str) -> int:
    """
    The number of the line of this file that follows the comment
    C{# schedules on the next line: marker}.
    """
    with open(__file__.replace(".pyc", ".py")) as source:
        for number, text in enumerate(source, 1):
            if text.strip() == f"# schedules on the next line: {marker}":
                return number + 1
    raise LookupError(marker)


def closedPort() -> int:
    """
    A loopback port number nothing listens on (just released).
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        number: int = probe.getsockname()[1]
    return number


def pendingCalls() -> set[object]:
    """
    The timers pending in the global reactor.
    """
    from twisted.internet import reactor

    return set(reactor.getDelayedCalls())


class ClosesAtOnce(Protocol):
    """
    A server that closes each connection as soon as it is made.
    """

    def connectionMade(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


def refusedService(services: list[ClientService]) -> Any:
    """
    A sample body whose C{ClientService} connects to a port that refuses,
    and whose test ends while the service waits to retry.
    """

    async def body(case: NetworkTestCase) -> None:
        from twisted.internet import reactor

        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", closedPort())
        service = ClientService(endpoint, Factory.forProtocol(Protocol))
        services.append(service)
        # schedules on the next line: refused
        service.startService()
        with case.assertRaises(ConnectionRefusedError):
            await service.whenConnected(failAfterFailures=1)

    return body


def closedService(services: list[ClientService]) -> Any:
    """
    A sample body whose C{ClientService} connects to a server that closes
    at once, and whose test ends while the service waits to retry.
    """

    async def body(case: NetworkTestCase) -> None:
        from twisted.internet import reactor

        port = case.listen(ServerFactory.forProtocol(ClosesAtOnce))
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
        service = ClientService(endpoint, Factory.forProtocol(Protocol))
        services.append(service)
        # schedules on the next line: closed
        service.startService()
        client = await service.whenConnected()
        await case.whenCalled(client, "connectionLost")
        # The service hears of the loss once the protocol's method returned.
        await deferLater(reactor, 0, lambda: None)

    return body


class ClientServiceRetryTests(SynchronousTestCase):
    """
    A C{ClientService} waiting to retry when the test ends stops with the
    test, as a C{ReconnectingClientFactory} does.
    """

    def assertStoppedQuietly(self, makeBody: Any) -> None:
        """
        Run the sample C{makeBody} makes: it passes, leaves no timer in the
        reactor, and its service is stopped, so that stopping it again (a
        C{tearDown} would) does nothing.
        """
        services: list[ClientService] = []
        before = pendingCalls()
        result = sample(makeBody(services))
        assertPassed(self, result)
        self.assertEqual(pendingCalls() - before, set())
        (service,) = services
        self.assertIsNone(self.successResultOf(service.stopService()))

    def test_refused(self) -> None:
        """
        A service whose connection was refused, waiting to retry: the test
        passes and no retry is left.
        """
        self.assertStoppedQuietly(refusedService)

    def test_serverClosed(self) -> None:
        """
        A service whose server closed the connection, waiting to retry: the
        test passes and no retry is left.
        """
        self.assertStoppedQuietly(closedService)

    def test_connected(self) -> None:
        """
        A service still connected when the test ends: the teardown closes
        its connection, the retry it then schedules is stopped with the
        service, and no timer is left.
        """

        def connectedService(services: list[ClientService]) -> Any:
            async def body(case: NetworkTestCase) -> None:
                from twisted.internet import reactor

                port = case.listen(ServerFactory.forProtocol(Protocol))
                endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
                service = ClientService(endpoint, Factory.forProtocol(Protocol))
                services.append(service)
                service.startService()
                await service.whenConnected()

            return body

        self.assertStoppedQuietly(connectedService)

    def assertNamedStrictly(self, makeBody: Any, marker: str) -> None:
        """
        Under strict cleanup the sample fails with one leftover: the
        service's retry, named at the line of the test that started it.
        """
        services: list[ClientService] = []
        before = pendingCalls()
        result = sample(makeBody(services), strictCleanup=True)
        (leftover,) = teardownError(result).leftovers
        self.assertEqual(
            (leftover.role, leftover.kind), ("timer", "ClientService retry")
        )
        self.assertEqual(
            (leftover.origin.filename, leftover.origin.lineno),
            (__file__.replace(".pyc", ".py"), markedLine(marker)),
        )
        self.assertIn(LEFT_PENDING, leftover.action)
        self.assertEqual(pendingCalls() - before, set())

    def test_refusedStrict(self) -> None:
        """
        Under strict cleanup, the retry of a refused service is named at the
        line that started the service, and fails the test.
        """
        self.assertNamedStrictly(refusedService, "refused")

    def test_serverClosedStrict(self) -> None:
        """
        Under strict cleanup, the retry of a service whose server closed is
        named at the line that started the service, and fails the test.
        """
        self.assertNamedStrictly(closedService, "closed")


class Retrying(ReconnectingClientFactory):
    """
    A reconnecting factory that tells when a connection attempt failed.
    """

    protocol = Protocol

    def __init__(self) -> None:
        self.failed: Deferred[None] = Deferred()

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        super().clientConnectionFailed(connector, reason)
        if not self.failed.called:
            self.failed.callback(None)


class ReconnectingFactoryTests(SynchronousTestCase):
    """
    A C{ReconnectingClientFactory} waiting to retry when the test ends is
    stopped with the test, and named under strict cleanup like a service.
    """

    def test_refusedStrict(self) -> None:
        """
        Under strict cleanup, the retry of a refused reconnecting factory is
        named at the line that connected it, and no timer is left.
        """

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            factory = Retrying()
            # schedules on the next line: reconnecting
            reactor.connectTCP("127.0.0.1", closedPort(), factory)
            await factory.failed
            await deferLater(reactor, 0, lambda: None)

        before = pendingCalls()
        result = sample(body, strictCleanup=True)
        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "timer")
        self.assertEqual(
            (leftover.origin.filename, leftover.origin.lineno),
            (__file__.replace(".pyc", ".py"), markedLine("reconnecting")),
        )
        self.assertIn(LEFT_PENDING, leftover.action)
        self.assertEqual(pendingCalls() - before, set())


class SaysBye(Protocol):
    """
    A server that writes a line and closes first.
    """

    def connectionMade(self) -> None:
        self.transport.write(b"bye\r\n")  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]


class RunnersTimerTests(SynchronousTestCase):
    """
    trial's own timers are never taken for the code under test's.
    """

    def test_closedFirstStrict(self) -> None:
        """
        Under strict cleanup, a client that reads the server's last line and
        waits for its close, which resumes the test inside the close (where
        trial then schedules its next step's timeout), passes.
        """

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(ServerFactory.forProtocol(SaysBye))
            client = await case.connect(port, Factory.forProtocol(Recorder))
            self.assertEqual(await client.readLine(), b"bye")
            await client.waitForClose()

        before = pendingCalls()
        assertPassed(self, sample(body, strictCleanup=True))
        self.assertEqual(pendingCalls() - before, set())


class PooledConnectionTests(SynchronousTestCase):
    """
    A persistent pool the code under test uses (treq's global one) forgets
    the test's connections when the test ends.
    """

    def test_treqGlobalPool(self) -> None:
        """
        Two tests in a row, each fetching its own port's page with treq's
        module-level C{get} through a mapped name, both pass; the second
        gets a fresh connection to its own port, and no timer is left.
        """
        import treq

        served: list[tuple[bytes, int, Hello]] = []

        class Fetch(NetworkTestCase):
            async def fetch(self) -> None:
                hello = Hello(lambda request: b"%d" % (request.getHost().port,))
                port = self.listen(Site(hello))
                self.mapName("api.example.com", port)
                response = await treq.get("http://api.example.com/")
                served.append((await response.content(), portNumber(port), hello))

            test_first = fetch
            test_second = fetch

        before = pendingCalls()
        result = TestResult()
        TestSuite([Fetch("test_first"), Fetch("test_second")]).run(result)
        self.assertEqual((result.errors, result.failures), ([], []))
        self.assertEqual(result.successes, 2)
        self.assertEqual(pendingCalls() - before, set())
        for body, number, hello in served:
            self.assertEqual((body, len(hello.channels)), (b"%d" % (number,), 1))

    def test_poolNotAsExpected(self) -> None:
        """
        A pool whose private state is not as trialnet expects (a later
        Twisted's, say) gets its timer cancelled and the error logged, and
        nothing else is kept from being forgotten.
        """
        from twisted.web.client import HTTPConnectionPool

        clock = Clock()
        pool = HTTPConnectionPool(clock)
        connection = object()
        pool._connections = None  # type: ignore[assignment]
        call = clock.callLater(240, pool._removeConnection, "key", connection)
        forgetPooled(clock, {connection: True}.get)
        self.assertFalse(call.active())
        self.assertEqual(len(self.flushLoggedErrors(AttributeError)), 1)


class ClientServiceFixtureTests(SynchronousTestCase):
    """
    Under the pytest C{network} fixture, a C{ClientService}'s retry does not
    survive into the next test.
    """

    def test_noRetryInTheNextTest(self) -> None:
        """
        The sample whose service waits to retry passes, and the next test
        finds no timer in the reactor, on both of pytest-twisted's reactors.
        """
        for reactor in ("default", "asyncio"):
            outcomes, _, output = runPytest(reactor, samples=LEFT_TIMERS)
            self.assertEqual(outcomes.get("test_refused"), ["passed"], output)
            self.assertEqual(outcomes.get("test_reactorClean"), ["passed"], output)


def emptyCellCall(reactor: Any, viaDeferred: bool) -> Any:
    """
    Schedule, in 5 seconds, a closure one of whose variables was never set
    (C{inspect.getclosurevars} raises on such a cell), directly or as the
    first callback of a Deferred that the timer fires.
    """

    never: object  # a variable of the closure, never set

    def inner(*args: object) -> object:
        return never  # noqa: F821 (its cell is empty, on purpose)

    if viaDeferred:
        return reactor.callLater(5, Deferred().addCallback(inner).callback, None)
    return reactor.callLater(5, inner)


class SchedulesOddTimer(Protocol):
    """
    A client that, as it hears of its connection's loss, schedules a timer
    whose function has a variable never set.
    """

    viaDeferred = False

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        from twisted.internet import reactor

        emptyCellCall(reactor, self.viaDeferred)


class SchedulesOddDeferred(SchedulesOddTimer):
    viaDeferred = True


class Chat(Protocol):
    """
    A server that tells the others when one of its members leaves.
    """

    def connectionMade(self) -> None:
        self.members().append(self)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.members().remove(self)
        for other in self.members():
            other.transport.write(b"someone left\r\n")  # type: ignore[union-attr]

    def members(self) -> list[Chat]:
        assert isinstance(self.factory, ChatFactory)
        return self.factory.members


class ChatFactory(ServerFactory):
    protocol = Chat

    def __init__(self) -> None:
        self.members: list[Chat] = []


class OddTimersTests(SynchronousTestCase):
    """
    What the code under test schedules as it hears of a loss never breaks
    the teardown, whatever its function is; and the TLS transport's own
    flush of a write made then is not taken for a retry.
    """

    def test_unsetClosureVariable(self) -> None:
        """
        A timer whose function, or whose Deferred's first callback, is a
        closure with a variable never set is cancelled as a retry, with or
        without strict cleanup (where it is named), and the teardown ends.
        """
        import twisted.application.internet  # noqa: F401 (as a service user)

        for protocol in (SchedulesOddTimer, SchedulesOddDeferred):
            for strict in (False, True):

                async def body(
                    case: NetworkTestCase, protocol: type[Protocol] = protocol
                ) -> None:
                    port = case.listen(ServerFactory.forProtocol(Protocol))
                    await case.connect(port, Factory.forProtocol(protocol))

                before = pendingCalls()
                result = sample(body, strictCleanup=strict, timeout=10)
                if strict:
                    (leftover,) = teardownError(result).leftovers
                    self.assertEqual(leftover.role, "timer")
                else:
                    assertPassed(self, result)
                self.assertEqual(pendingCalls() - before, set())

    def test_tlsWriteInConnectionLost(self) -> None:
        """
        Under strict cleanup, a TLS server that writes to its other members
        as one of them leaves passes: the TLS transport flushes that write
        with a timer of its own, which is no retry of the code under test.
        """

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(ChatFactory())
            first = await case.connect(port, Recorder())
            second = await case.connect(port, Recorder())
            server = await case.serverProtocolFor(first)
            await case.serverProtocolFor(second)
            assert first.transport is not None
            first.transport.loseConnection()
            await case.whenClosed(server)

        before = pendingCalls()
        assertPassed(self, sample(body, strictCleanup=True))
        self.assertEqual(pendingCalls() - before, set())
