"""
The teardown is guarded: an exception in one of its steps, a factory that
would reconnect, a service that keeps connecting, a factory callback that
raises, a protocol swapped on its transport, a port the test stopped itself,
a test case run twice, a network first used in C{tearDown}, a C{tearDown}
that raises, a bound changed during the test: none of them stops the rest of
the teardown, hangs it, leaves a timer, or makes a false report.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import time
import weakref
from collections.abc import Callable
from typing import Any

from twisted.application.internet import ClientService
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import ConnectError
from twisted.internet.interfaces import IProtocol
from twisted.internet.protocol import (
    ClientFactory,
    Factory,
    Protocol,
    ReconnectingClientFactory,
    ServerFactory,
    connectionDone,
)
from twisted.internet.task import deferLater
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.python.reflect import qual
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase
from twisted.trial.util import DirtyReactorAggregateError
from zope.interface import implementer

from trialnet import Network, NetworkTestCase, TeardownError
from trialnet._core._report import Leftover

from ..helpers import (
    Echo,
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    assertPassed,
    errorTypes,
    errorValues,
    lostCounts,
    openFiles,
    openPair,
    portNumber,
    problemsOf,
    recorders,
    runSample,
    sample,
    socketsInReactor,
    warmUp,
)

#: What a leftover says of a client factory the teardown thought was still
#: connecting.
STILL_RUNNING = "its factory was still running"

#: The error Twisted logs when something closes a transport whose socket is
#: already gone.
NO_SOCKET = "'NoneType' object has no attribute 'shutdown'"


def delayedCalls() -> set[object]:
    """
    The reactor's pending timers.
    """
    from twisted.internet import reactor

    return set(reactor.getDelayedCalls())


class Leaves:
    """
    What the reactor and the process hold before a sample, to compare with
    after it.
    """

    def __init__(self) -> None:
        warmUp()
        self.sockets = socketsInReactor()
        self.calls = delayedCalls()
        self.files = openFiles()

    def assertNothingNew(self, test: SynchronousTestCase) -> None:
        """
        Assert no socket, timer or open file was left since.
        """
        test.assertEqual(socketsInReactor() - self.sockets, set())
        test.assertEqual(delayedCalls() - self.calls, set())
        test.assertEqual(openFiles() - self.files, set())


@implementer(ILogObserver)
class LogText:
    """
    Keeps the text of everything logged while it observes.
    """

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, event: LogEvent) -> None:
        failure = event.get("log_failure")
        self.texts.append(f"{formatEvent(event)} {failure!r}")

    def observing(self, run: Callable[[], TestResult]) -> TestResult:
        """
        Observe the global log while C{run} runs.
        """
        globalLogPublisher.addObserver(self)
        try:
            return run()
        finally:
            globalLogPublisher.removeObserver(self)


def timed(run: Callable[[], TestResult]) -> tuple[TestResult, float]:
    """
    Run a sample, and say how many seconds it took.
    """
    started = time.monotonic()
    result = run()
    return result, time.monotonic() - started


def assertOnlyNamed(
    test: SynchronousTestCase, result: TestResult, named: Callable[[Leftover], bool]
) -> None:
    """
    Assert the result holds no dirty reactor and one L{TeardownError} at
    most, and that its leftovers are only those C{named} accepts: the
    teardown went on after the step that failed, and closed the rest in an
    orderly way.
    """
    types = errorTypes(result)
    test.assertNotIn(DirtyReactorAggregateError, types, problemsOf(result))
    test.assertLessEqual(types.count(TeardownError), 1, problemsOf(result))
    for error in errorValues(result):
        if isinstance(error, TeardownError):
            for leftover in error.leftovers:
                test.assertTrue(named(leftover), str(leftover))


def endOfRecorders(leftover: Leftover) -> bool:
    """
    Whether a leftover is a connection end of the helpers' recorders, which
    always close in an orderly way.
    """
    return any(qual(kind) in leftover.kind for kind in (Echo, LoggingProtocol))


def assertNoStillRunning(test: SynchronousTestCase, result: TestResult) -> None:
    """
    Assert no report of the result says a factory was still running.
    """
    for error in errorValues(result):
        if isinstance(error, TeardownError):
            for leftover in error.leftovers:
                test.assertNotIn(STILL_RUNNING, leftover.action)


@implementer(IProtocol)
class Slotted:
    """
    A protocol without an instance dictionary: nothing can be set on it.
    """

    __slots__ = ("connected", "events", "made", "transport")

    def __init__(self, events: Events, made: Deferred[None]) -> None:
        self.events = events
        self.made = made
        self.transport: Any = None
        self.connected = 0

    def makeConnection(self, transport: Any) -> None:
        self.connected = 1
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        self.made.callback(None)

    def dataReceived(self, data: bytes) -> None:
        pass

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.connected = 0
        self.events.log.append("slotted lost")


class SlottedFactory(ClientFactory):
    """
    Builds one L{Slotted} protocol.
    """

    def __init__(self, events: Events) -> None:
        self.events = events
        self.made: Deferred[None] = Deferred()

    def buildProtocol(self, addr: object) -> Slotted:  # type: ignore[override]
        return Slotted(self.events, self.made)


class Announced(Protocol):
    """
    Fires its factory's C{connected} once its connection is made.
    """

    def connectionMade(self) -> None:
        connected = self.factory.connected
        if not connected.called:
            connected.callback(self)


class Reconnecting(ReconnectingClientFactory):
    """
    A factory that reconnects, after a second, whenever its connection is
    lost.
    """

    protocol = Announced

    def __init__(self) -> None:
        self.connected: Deferred[Protocol] = Deferred()


class BoomError(Exception):
    """
    What a factory callback raised.
    """


class RaisesOnStart(LoggingFactory):
    """
    A client factory whose C{startFactory} raises.
    """

    def startFactory(self) -> None:
        raise BoomError("startFactory broke")


class RaisesOnLost(LoggingFactory):
    """
    A client factory whose C{clientConnectionLost} raises.
    """

    def clientConnectionLost(self, connector: object, reason: Failure) -> None:
        super().clientConnectionLost(connector, reason)
        raise BoomError("clientConnectionLost broke")


class RaisesOnFailed(LoggingFactory):
    """
    A client factory whose C{clientConnectionFailed} raises.
    """

    def clientConnectionFailed(self, connector: object, reason: Failure) -> None:
        super().clientConnectionFailed(connector, reason)
        raise BoomError("clientConnectionFailed broke")


class Other(Protocol):
    """
    The protocol a connection switches to: it says C{b"switched"}, and
    closes on C{b"bye"}.
    """

    def __init__(self, events: Events) -> None:
        self.events = events

    def connectionMade(self) -> None:
        self.transport.write(b"switched")  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if b"bye" in data:
            self.transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.events.log.append("other lost")


class Switching(LoggingProtocol):
    """
    A server protocol that, on its first bytes, hands its transport to an
    L{Other}, as HTTP Upgrade-style code does.
    """

    def dataReceived(self, data: bytes) -> None:
        other = Other(self.events)
        other.makeConnection(self.transport)
        self.transport.protocol = other  # type: ignore[union-attr]


class StepFailsTests(SynchronousTestCase):
    """
    An exception inside one teardown step does not stop the others.
    """

    def test_slottedTrackedConnector(self) -> None:
        """
        With a C{track()}ed connector whose protocol has C{__slots__}, every
        other port and connection is still closed, the UNIX port's private
        directory is removed, no timer is left, and there is one report at
        most.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        slotted = SlottedFactory(events)
        directories: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            unixPort = case.listenUNIX(serverFactory)
            directories.append(os.path.dirname(unixPort.getHost().name))  # type: ignore[attr-defined]
            await case.connect(port, clientFactory)
            await case.connect(unixPort, clientFactory)
            case.track(reactor.connectTCP("127.0.0.1", portNumber(port), slotted))
            await slotted.made

        leaves = Leaves()
        result = sample(body, timeout=20)

        assertOnlyNamed(self, result, lambda leftover: "Slotted" in leftover.kind)
        self.assertEqual(lostCounts(events), (2, 3))
        self.assertEqual(events.count("slotted lost"), 1)
        self.assertFalse(os.path.exists(directories[0]))
        leaves.assertNothingNew(self)

    def test_unixDirectoryReplaced(self) -> None:
        """
        With one UNIX port's directory replaced by a plain file during the
        test, the other UNIX port's directory is still removed, every socket
        is still closed, no timer is left, and there is one report at most.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        directories: list[str] = []

        def removeFile(path: str) -> None:
            if os.path.isfile(path):
                os.remove(path)

        async def body(case: NetworkTestCase) -> None:
            broken = case.listenUNIX(serverFactory)
            intact = case.listenUNIX(LoggingFactory(events, "server", Echo))
            for port in (broken, intact):
                directories.append(os.path.dirname(port.getHost().name))  # type: ignore[attr-defined]
            await case.connect(broken, clientFactory)
            await case.connect(intact, clientFactory)
            await case.connect(case.listen(serverFactory), clientFactory)
            shutil.rmtree(directories[0])
            self.addCleanup(removeFile, directories[0])
            open(directories[0], "w").close()

        leaves = Leaves()
        result = sample(body, timeout=20)

        assertOnlyNamed(self, result, lambda leftover: not endOfRecorders(leftover))
        self.assertEqual(lostCounts(events), (3, 3))
        self.assertFalse(os.path.exists(directories[1]))
        leaves.assertNothingNew(self)


class ReconnectingTests(SynchronousTestCase):
    """
    Factories and services that would connect again are stopped, leaving no
    timer.
    """

    def test_otherNetworksRetryKept(self) -> None:
        """
        While one network's teardown runs, a connection of another network
        (here, the test's own) that drops schedules its retry as usual: the
        first teardown does not cancel it, and the client connects again.
        """
        events = Events()
        factory = Reconnecting()
        factory.initialDelay = 0.2
        factory.jitter = 0
        connections: list[int] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(Factory.forProtocol(Protocol))
            client = await case.connect(port, factory)
            server = await case.serverProtocolFor(client)
            inner = Network(disconnectTimeout=0.3)
            stuck = inner.listen(LoggingFactory(events, "server", Stuck))
            await case.connect(stuck, Protocol())
            closing = inner.close()
            closing.addErrback(lambda failure: failure.trap(TeardownError))
            factory.connected = Deferred()
            server.transport.loseConnection()  # type: ignore[attr-defined]
            await closing
            await factory.connected
            connections.append(1)
            await deferLater(reactor, 0, lambda: None)

        result = sample(body, timeout=20)

        assertPassed(self, result)
        self.assertEqual(connections, [1])

    def test_reconnectingFactoryThroughConnect(self) -> None:
        """
        A C{ReconnectingClientFactory} given to C{connect()} leaves no timer
        after the teardown, and the test passes.
        """
        factory = Reconnecting()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Protocol))
            await case.connect(port, factory)

        leaves = Leaves()
        assertPassed(self, sample(body, timeout=20))
        leaves.assertNothingNew(self)

    def test_reconnectingFactoryStrict(self) -> None:
        """
        With strict cleanup, a C{ReconnectingClientFactory} given to
        C{connect()} is told to stop trying as its attempt closes, before its
        connection is lost: the retry it would schedule is never made, so the
        test passes with nothing reported.
        """
        factory = Reconnecting()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Protocol))
            await case.connect(port, factory)

        assertPassed(self, sample(body, timeout=20, strictCleanup=True))
        self.assertEqual(factory.continueTrying, 0)

    def test_reconnectingFactoryOfCodeUnderTest(self) -> None:
        """
        A C{ReconnectingClientFactory} the code under test connected with the
        reactor's C{connectTCP} leaves no timer after the teardown, and the
        test passes.
        """
        factory = Reconnecting()

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(Factory.forProtocol(Protocol))
            reactor.connectTCP("127.0.0.1", portNumber(port), factory)
            await factory.connected

        leaves = Leaves()
        assertPassed(self, sample(body, timeout=20))
        leaves.assertNothingNew(self)

    def test_trackedClientService(self) -> None:
        """
        A C{ClientService} started in the test, never stopped, and adopted
        with C{track()}, is stopped at the teardown: the test passes and no
        timer is left.
        """
        services: list[ClientService] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(Factory.forProtocol(Protocol))
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            service = ClientService(endpoint, Factory.forProtocol(Protocol))
            services.append(service)
            service.startService()
            case.track(service)
            await service.whenConnected()

        leaves = Leaves()
        assertPassed(self, sample(body, timeout=20))
        self.assertFalse(services[0].running)
        leaves.assertNothingNew(self)


class RaisingFactoryTests(SynchronousTestCase):
    """
    A client factory callback that raises reaches the test as in plain
    Twisted, without a wait and without a report that its factory was still
    running.
    """

    def assertRaisedQuickly(self, body: Callable[[NetworkTestCase], object]) -> None:
        """
        Run C{body} with a five-second bound: L{BoomError} is among its
        errors, it took well under the bound, and nothing says a factory
        was still running.
        """
        leaves = Leaves()
        result, took = timed(lambda: sample(body, disconnectTimeout=5, timeout=20))

        self.assertIn(BoomError, errorTypes(result), problemsOf(result))
        self.assertNotIn(DirtyReactorAggregateError, errorTypes(result))
        self.assertLess(took, 2.5)
        assertNoStillRunning(self, result)
        leaves.assertNothingNew(self)

    def test_startFactoryRaises(self) -> None:
        """
        A client factory whose C{startFactory} raises.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server"))
            await case.connect(port, RaisesOnStart(events, "client"))

        self.assertRaisedQuickly(body)

    def test_clientConnectionLostRaises(self) -> None:
        """
        A client factory whose C{clientConnectionLost} raises when the
        teardown closes its connection.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server"))
            await case.connect(port, RaisesOnLost(events, "client"))

        self.assertRaisedQuickly(body)

    def test_clientConnectionFailedRaises(self) -> None:
        """
        A client factory whose C{clientConnectionFailed} raises when its
        connection is refused.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server"))
            number = portNumber(port)
            await maybeDeferred(port.stopListening)
            with contextlib.suppress(ConnectError, BoomError):
                await case.connect(("127.0.0.1", number), RaisesOnFailed(events, "c"))

        self.assertRaisedQuickly(body)


class SwitchedProtocolTests(SynchronousTestCase):
    """
    A transport whose protocol was swapped closes without a false report.
    """

    def runSwitched(self, body: Callable[[NetworkTestCase], object]) -> None:
        """
        Run C{body}: it passes, well before the five-second bound, and
        nothing is logged about a socket that was already gone.
        """
        log = LogText()
        leaves = Leaves()
        result, took = timed(
            lambda: log.observing(lambda: sample(body, disconnectTimeout=5, timeout=20))
        )

        assertPassed(self, result)
        self.assertLess(took, 2.5)
        self.assertEqual([text for text in log.texts if NO_SOCKET in text], [])
        leaves.assertNothingNew(self)

    def test_switchedThenClosedByItself(self) -> None:
        """
        A server protocol that hands its transport to another protocol,
        which closes the connection later by itself.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server", Switching))
            client = await case.connect(port, LoggingFactory(events, "client"))
            switched = client.waitForData()  # type: ignore[attr-defined]
            client.transport.write(b"switch")  # type: ignore[attr-defined]
            await switched
            client.transport.write(b"bye")  # type: ignore[attr-defined]
            await case.whenClosed(client)

        self.runSwitched(body)
        self.assertEqual(events.count("other lost"), 1)

    def test_switchedThenClosedByTeardown(self) -> None:
        """
        A server protocol that hands its transport to another protocol,
        which is still connected when the teardown begins.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server", Switching))
            client = await case.connect(port, LoggingFactory(events, "client"))
            switched = client.waitForData()  # type: ignore[attr-defined]
            client.transport.write(b"switch")  # type: ignore[attr-defined]
            await switched

        self.runSwitched(body)
        self.assertEqual(events.count("other lost"), 1)

    def test_http2OverTLS(self) -> None:
        """
        An HTTP/2 request (ALPN h2) to a C{Site} behind C{listenTLS}, whose
        channel swaps itself for an C{H2Connection}, closes without a false
        report.
        """
        try:
            import h2.config  # type: ignore[import-not-found, unused-ignore]
            import h2.connection  # type: ignore[import-not-found, unused-ignore]
            import h2.events  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise self.skipTest("needs the h2 package") from None
        from twisted.web.http import H2_ENABLED

        if not H2_ENABLED:
            raise self.skipTest("twisted.web's HTTP/2 needs h2 and priority")
        from twisted.internet.ssl import Certificate, optionsForClientTLS
        from twisted.web.resource import Resource
        from twisted.web.server import Request, Site

        class Greeting(Resource):
            isLeaf = True

            def render_GET(self, request: Request) -> bytes:
                return b"hello"

        class H2Client(Protocol):
            def __init__(self) -> None:
                self.connection = h2.connection.H2Connection(
                    h2.config.H2Configuration(client_side=True)
                )
                self.body = b""
                self.ended: Deferred[bytes] = Deferred()

            def connectionMade(self) -> None:
                self.connection.initiate_connection()
                self.connection.send_headers(
                    1,
                    [
                        (":method", "GET"),
                        (":path", "/"),
                        (":scheme", "https"),
                        (":authority", "127.0.0.1"),
                    ],
                    end_stream=True,
                )
                self.transport.write(self.connection.data_to_send())  # type: ignore[union-attr]

            def dataReceived(self, data: bytes) -> None:
                for event in self.connection.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        self.body += event.data
                        self.connection.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif (
                        isinstance(event, h2.events.StreamEnded)
                        and not self.ended.called
                    ):
                        self.ended.callback(self.body)
                self.transport.write(self.connection.data_to_send())  # type: ignore[union-attr]

        bodies: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(Site(Greeting()))
            options = optionsForClientTLS(
                "127.0.0.1",
                trustRoot=Certificate.loadPEM(case.tlsAuthority.caPEM),
                acceptableProtocols=[b"h2"],
            )
            client = await case.connect(port, H2Client(), tlsOptions=options)
            bodies.append(await client.ended)

        self.runSwitched(body)
        self.assertEqual(bodies, [b"hello"])


class StoppedPortTests(SynchronousTestCase):
    """
    A port the test stopped itself with C{loseConnection()} is stopped once.
    """

    def test_tcpPortLoseConnection(self) -> None:
        """
        A TCP port closed with C{port.loseConnection()} by the test is
        stopped once (its factory stopped once), with no error.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server"))
            await case.connect(port, LoggingFactory(events, "client"))
            port.loseConnection()  # type: ignore[attr-defined]

        leaves = Leaves()
        assertPassed(self, sample(body))
        self.assertEqual(events.count("server factory stopped"), 1)
        leaves.assertNothingNew(self)

    def test_unixPortLoseConnection(self) -> None:
        """
        A UNIX port closed with C{port.loseConnection()} by the test is
        stopped once, with no error, and its directory is removed.
        """
        events = Events()
        directories: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUNIX(LoggingFactory(events, "server"))
            directories.append(os.path.dirname(port.getHost().name))  # type: ignore[attr-defined]
            await case.connect(port, LoggingFactory(events, "client"))
            port.loseConnection()  # type: ignore[attr-defined]

        leaves = Leaves()
        assertPassed(self, sample(body))
        self.assertEqual(events.count("server factory stopped"), 1)
        self.assertFalse(os.path.exists(directories[0]))
        leaves.assertNothingNew(self)


class TestCaseLifeTests(SynchronousTestCase):
    """
    The teardown follows the test case's own life: run twice, first used
    late, a failing C{tearDown}, a bound changed on the way.
    """

    def test_runTwice(self) -> None:
        """
        The same test case instance run twice (as C{trial -u} does) passes
        both times, and closes both runs' connections.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                await openPair(self, serverFactory, clientFactory)

        case = Sample("test_it")
        first, second = TestResult(), TestResult()
        case.run(first)
        case.run(second)

        assertPassed(self, first)
        assertPassed(self, second)
        self.assertEqual(lostCounts(events), (2, 2))

    def test_classesCollected(self) -> None:
        """
        Protocol and factory classes defined inside a sample, used through
        trialnet and by the code under test, are garbage-collected after
        it: trialnet keeps no reference to them.
        """

        def runAndForget() -> tuple[list[weakref.ref[type]], TestResult]:
            class ServerSide(Protocol):
                pass

            class ClientSide(Protocol):
                pass

            # Quiet: Twisted's log, before anything observes it (under
            # unittest), keeps its events, and a noisy factory's hold it.
            class Servers(ServerFactory):
                protocol = ServerSide
                noisy = False

            class Clients(ClientFactory):
                protocol = ClientSide
                noisy = False

            async def body(case: NetworkTestCase) -> None:
                from twisted.internet import reactor

                port = case.listen(Servers())
                client = await case.connect(port, Clients())
                await case.serverProtocolFor(client)
                other = reactor.listenTCP(0, Servers(), interface="127.0.0.1")
                reactor.connectTCP("127.0.0.1", portNumber(other), Clients())
                await case.connect(other, Clients())

            result = sample(body, timeout=20)
            classes = [ServerSide, ClientSide, Servers, Clients]
            return [weakref.ref(each) for each in classes], result

        references, result = runAndForget()
        problems = problemsOf(result)
        del result
        gc.collect()

        self.assertEqual([reference() for reference in references], [None] * 4)
        self.assertEqual(problems, [])

    def test_firstUsedInTearDown(self) -> None:
        """
        A network first used in C{tearDown} is closed after it, and the test
        passes with no report of sockets opened without trialnet.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                pass

            async def tearDown(self) -> None:  # type: ignore[override]
                port, _, _ = await openPair(self, serverFactory, clientFactory)
                numbers.append(portNumber(port))

        leaves = Leaves()
        result = runSample(Sample)

        assertPassed(self, result)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(events.count("server factory stopped"), 1)
        leaves.assertNothingNew(self)

    def test_tearDownRaises(self) -> None:
        """
        A C{tearDown} that raises is reported, and does not skip the cleanup
        of the sockets, the code under test's included: no dirty reactor,
        nothing left open.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                from twisted.internet import reactor

                await openPair(self, serverFactory, clientFactory)
                factory = LoggingFactory(events, "server")
                reactor.listenTCP(0, factory, interface="127.0.0.1")

            def tearDown(self) -> None:
                raise RuntimeError("tearDown broke")

        leaves = Leaves()
        result = runSample(Sample)

        self.assertEqual(errorTypes(result), [RuntimeError], problemsOf(result))
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(events.count("server factory stopped"), 2)
        leaves.assertNothingNew(self)

    def test_disconnectTimeoutSetInTest(self) -> None:
        """
        C{self.disconnectTimeout} set inside the test, after its first
        C{listen()}, bounds the teardown: a stuck connection is aborted after
        about 0.3 seconds, not the class's 5.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server", Stuck))
            case.disconnectTimeout = 0.3
            await case.connect(port, LoggingFactory(events, "client", Stuck))

        result, took = timed(lambda: sample(body, disconnectTimeout=5, timeout=20))

        self.assertEqual(errorTypes(result), [TeardownError], problemsOf(result))
        (error,) = errorValues(result)
        assert isinstance(error, TeardownError) and error.waited is not None
        self.assertLess(error.waited, 1.0)
        self.assertLess(took, 2.5)
        self.assertEqual(lostCounts(events), (1, 1))
