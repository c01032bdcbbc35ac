"""
What the code under test opens on the reactor by itself (C{listenTCP},
C{connectTCP}, endpoints, strports, an C{Agent}, a PB client, a
C{ClientService}) joins the test's one teardown, with no C{track()} and no
teardown code: the test passes unless something had to be aborted, and
C{strictCleanup} makes leaks of the code under test the test's error.
Observing the reactor leaves it exactly as it was.
"""

from __future__ import annotations

import gc
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import weakref
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.application import strports
from twisted.application.internet import ClientService
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol, ServerFactory
from twisted.internet.testing import MemoryReactorClock
from twisted.spread import pb
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from trialnet import Network, NetworkTestCase, TeardownError, _observe, _retries, _run

from .helpers import (
    Echo,
    Events,
    LoggingFactory,
    LoggingProtocol,
    NeverFinishes,
    Stuck,
    assertPassed,
    errorTypes,
    lostCounts,
    openFiles,
    portNumber,
    refuses,
    runSample,
    sample,
    socketsInReactor,
    teardownError,
    warmUp,
)

#: The reactor methods through which code under test opens sockets.
OPENERS = (
    "listenTCP",
    "connectTCP",
    "listenSSL",
    "connectSSL",
    "listenUNIX",
    "connectUNIX",
    "listenUDP",
)

#: The words of a strict report about what the code under test left open.
LEFT_OPEN = "left open by the code under test"


def markedLine(marker: str) -> int:
    """
    The number of the line of this file that follows the comment
    C{# opens on the next line: marker}.
    """
    with open(thisFile()) as source:
        for number, text in enumerate(source, 1):
            if text.strip() == f"# opens on the next line: {marker}":
                return number + 1
    raise LookupError(marker)


def thisFile() -> str:
    """
    The source file of this module, as a leftover's origin names it.
    """
    return __file__.replace(".pyc", ".py")


def plainFactory() -> Any:
    """
    A server factory of plain protocols, as code under test would make.
    """
    return ServerFactory.forProtocol(Protocol)


class Announced(Echo):
    """
    An echoing recorder that tells its factory once its C{connectionMade}
    ran.
    """

    factory: Announcing

    def connectionMade(self) -> None:
        super().connectionMade()
        self.factory.announce(self)


class Announcing(LoggingFactory):
    """
    A factory of L{Announced} recorders, whose connected protocols can be
    waited for one at a time, as code under test's clients would be.
    """

    def __init__(self, events: Events, role: str) -> None:
        super().__init__(events, role, Announced)
        self._ready: list[LoggingProtocol] = []
        self._waiting: list[Deferred[LoggingProtocol]] = []

    def announce(self, protocol: LoggingProtocol) -> None:
        if self._waiting:
            self._waiting.pop(0).callback(protocol)
        else:
            self._ready.append(protocol)

    def nextMade(self) -> Deferred[LoggingProtocol]:
        """
        The oldest protocol not yet handed out, once connected.
        """
        if self._ready:
            return succeed(self._ready.pop(0))
        waiter: Deferred[LoggingProtocol] = Deferred()
        self._waiting.append(waiter)
        return waiter


class StuckAnnounced(Announced):
    """
    An announced recorder whose transport holds a producer that never
    finishes, so its connection cannot close in an orderly way.
    """

    def connectionMade(self) -> None:
        self.transport.registerProducer(NeverFinishes(), False)  # type: ignore[union-attr]
        super().connectionMade()


async def echoes(client: Any) -> None:
    """
    Send a line and wait for it to come back, so the connection (and any
    TLS handshake) is known to work end to end.
    """
    arrived = client.waitForData()
    client.transport.write(b"ping")
    await arrived


class Greeting(Resource):
    """
    Says hello.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"hello"


class Calculator(pb.Root):
    """
    A PB root with one remote method.
    """

    def remote_add(self, a: int, b: int) -> int:
        return a + b


def runObserved(
    test: SynchronousTestCase,
    body: Callable[[NetworkTestCase], object],
    **attributes: object,
) -> TestResult:
    """
    Run C{body} as a sample, and assert it passed and left no socket in the
    reactor and no file open.
    """
    from twisted.internet import reactor

    warmUp()
    sockets = socketsInReactor()
    files = openFiles()
    calls = set(reactor.getDelayedCalls())
    result = sample(body, NetworkTestCase, **attributes)
    assertPassed(test, result)
    test.assertEqual(socketsInReactor() - sockets, set())
    test.assertEqual(set(reactor.getDelayedCalls()) - calls, set())
    test.assertEqual(openFiles() - files, set())
    return result


class CodeUnderTestOpensTests(SynchronousTestCase):
    """
    Ports and connections the code under test opened itself are closed,
    waited for, and pass with the test.
    """

    def test_portByReactor(self) -> None:
        """
        A port opened with the reactor's C{listenTCP} in the test body, with a
        client from C{connect()}, is stopped and its connection closed; the
        test passes.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = LoggingFactory(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
            client = await case.connect(port, clientFactory)
            await echoes(client)

        runObserved(self, body)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(events.count("server factory stopped"), 1)

    def test_strportsService(self) -> None:
        """
        A strports service started in the test and never stopped, with a
        client from C{connect()} to the port it listens on, is cleaned up;
        the test passes.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = LoggingFactory(events, "client")

        async def body(case: NetworkTestCase) -> None:
            ports: list[IListeningPort] = []

            def record(port: IListeningPort) -> IListeningPort:
                ports.append(port)
                return port

            service = strports.service("tcp:0:interface=127.0.0.1", serverFactory)
            service.startService()
            waiting = service._waitingForPort
            assert waiting is not None
            waiting.addCallback(record)
            client = await case.connect(ports[0], clientFactory)
            await echoes(client)

        runObserved(self, body)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(events.count("server factory stopped"), 1)

    def test_endpoints(self) -> None:
        """
        A port and a connection made through the reactor's own TCP endpoints
        are closed; the test passes.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = LoggingFactory(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            server = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
            port = await server.listen(serverFactory)
            client = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            protocol = await client.connect(clientFactory)
            await echoes(protocol)

        runObserved(self, body)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_pbClient(self) -> None:
        """
        A PB client connected with the reactor's C{connectTCP} to a
        C{listen()} port, after a remote call, is closed; the test passes.
        """
        answers: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(pb.PBServerFactory(Calculator()))
            factory = pb.PBClientFactory()
            reactor.connectTCP("127.0.0.1", portNumber(port), factory)  # type: ignore[type-var]
            root = await factory.getRootObject()
            answers.append(await root.callRemote("add", 2, 3))

        runObserved(self, body)
        self.assertEqual(answers, [5])

    def test_agent(self) -> None:
        """
        An C{Agent(reactor)} GET of a C{listen()} site, its body read, leaves
        nothing behind; the test passes.
        """
        bodies: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(Site(Greeting()))
            url = b"http://127.0.0.1:%d/" % portNumber(port)
            response = await Agent(reactor).request(b"GET", url)
            bodies.append(await readBody(response))

        runObserved(self, body)
        self.assertEqual(bodies, [b"hello"])

    def test_clientByReactor(self) -> None:
        """
        A client the code under test connected with the reactor's
        C{connectTCP} to a C{listen()} port, never closed by the test, is
        closed with its server end; the test passes.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = Announcing(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
            await echoes(await clientFactory.nextMade())

        runObserved(self, body)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(events.count("clientConnectionLost"), 1)

    def test_unixByReactor(self) -> None:
        """
        A UNIX port and a client the code under test opened with the
        reactor's C{listenUNIX} and C{connectUNIX} are closed; the test
        passes.
        """
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "socket")
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = Announcing(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            reactor.listenUNIX(path, serverFactory)  # type: ignore[attr-defined]
            reactor.connectUNIX(path, clientFactory)  # type: ignore[attr-defined]
            await echoes(await clientFactory.nextMade())

        runObserved(self, body)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(events.count("server factory stopped"), 1)

    def test_tlsByReactor(self) -> None:
        """
        A TLS port and a client the code under test opened with the
        reactor's C{listenSSL} and C{connectSSL} are closed; the test
        passes.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = Announcing(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            authority = case.tlsAuthority
            port = reactor.listenSSL(  # type: ignore[attr-defined]
                0, serverFactory, authority.serverOptions(), interface="127.0.0.1"
            )
            reactor.connectSSL(  # type: ignore[attr-defined]
                "127.0.0.1",
                portNumber(port),
                clientFactory,
                authority.clientOptions("127.0.0.1"),
            )
            await echoes(await clientFactory.nextMade())

        runObserved(self, body)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_udpByReactor(self) -> None:
        """
        A datagram port the code under test opened with the reactor's
        C{listenUDP} and never stopped is stopped; the test passes.
        """

        def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")  # type: ignore[attr-defined]

        runObserved(self, body)

    def test_openedInsideTrialnetsListen(self) -> None:
        """
        A port the application opens from inside trialnet's own C{listen()}
        (its factory's C{startFactory}) is the application's, and joins the
        teardown; the test passes and the port is stopped.
        """
        sides: list[IListeningPort] = []

        class Backend(ServerFactory):
            protocol = Protocol

            def startFactory(self) -> None:
                from twisted.internet import reactor

                sides.append(
                    reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")  # type: ignore[attr-defined]
                )

        def body(case: NetworkTestCase) -> None:
            case.listen(Backend())

        runObserved(self, body)
        (side,) = sides
        self.assertFalse(side.connected)  # type: ignore[attr-defined]

    def test_clientService(self) -> None:
        """
        A C{ClientService} started in the test and never stopped, connected
        to a C{listen()} port, is stopped with its connection, leaving no
        reconnection timer; the test passes.
        """
        self.assertClientServiceStopped()

    def test_clientServiceWrappingCallLater(self) -> None:
        """
        On a reactor without Twisted's list of new timers, the teardown
        captures the C{ClientService}'s retry by wrapping C{callLater}, and
        puts the reactor's own back: the test passes, no timer is left, and
        the reactor has no C{callLater} of trialnet's.
        """
        from twisted.internet import reactor

        self.patch(_retries, "_newCalls", lambda reactor: None)
        self.assertClientServiceStopped()
        self.assertNotIn("callLater", vars(reactor))

    def assertClientServiceStopped(self) -> None:
        """
        Run a sample that starts a C{ClientService} and never stops it:
        the test passes, leaving no timer, and both ends closed once.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = LoggingFactory(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            service = ClientService(endpoint, clientFactory)
            service.startService()
            client = await service.whenConnected()
            await echoes(client)

        runObserved(self, body)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_serverProtocolForReactorClient(self) -> None:
        """
        C{serverProtocolFor} finds the server end of a client the code under
        test connected with the reactor's C{connectTCP} to a C{listen()}
        port.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = Announcing(events, "client")
        found: list[bool] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
            client = await clientFactory.nextMade()
            server = await case.serverProtocolFor(client)
            found.append(server is serverFactory.built[0])
            found.append(
                server.transport.getPeer() == client.transport.getHost()  # type: ignore[attr-defined, union-attr]
            )

        runObserved(self, body, timeout=10)
        self.assertEqual(found, [True, True])

    def test_whenClosedForReactorEnds(self) -> None:
        """
        C{whenClosed} fires for both ends of a connection the code under
        test opened with the reactor's C{listenTCP} and C{connectTCP}, once
        each closed.
        """
        events = Events()
        serverFactory = Announcing(events, "server")
        clientFactory = Announcing(events, "client")
        closed: list[list[str]] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
            reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
            client = await clientFactory.nextMade()
            server = await serverFactory.nextMade()
            server.transport.loseConnection()  # type: ignore[union-attr]
            await case.whenClosed(server)
            await case.whenClosed(client)
            closed.append(list(events.log))

        runObserved(self, body, timeout=10)
        (log,) = closed
        self.assertIn("server lost", log)
        self.assertIn("client lost", log)

    def test_abortedIsReportedAtItsLine(self) -> None:
        """
        A connection the code under test opened that had to be aborted is
        reported, in one L{TeardownError}, at the line of the reactor call
        that opened it (its port's C{listenTCP} for the server end, the
        C{connectTCP} for the client end), not at the test method's line.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Stuck)
        clientFactory = Announcing(events, "client")
        clientFactory.makeProtocol = StuckAnnounced

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            # opens on the next line: stuckListen
            port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
            # opens on the next line: stuckConnect
            reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
            await clientFactory.nextMade()

        warmUp()
        files = openFiles()
        result = sample(body, disconnectTimeout=0.5)

        error = teardownError(result)
        self.assertEqual(result.failures, [])
        origins = {(o.origin.filename, o.origin.lineno) for o in error.leftovers}
        self.assertEqual(
            origins,
            {
                (thisFile(), markedLine("stuckListen")),
                (thisFile(), markedLine("stuckConnect")),
            },
        )
        self.assertEqual(openFiles() - files, set())


class StrictCleanupTests(SynchronousTestCase):
    """
    With C{strictCleanup}, what the code under test left open when the
    teardown began is the test's error; what it closed itself, and what the
    test opened through trialnet or adopted, is not.
    """

    def test_portLeftOpen(self) -> None:
        """
        A port the code under test opened with C{listenTCP} and left open
        fails the test with a L{TeardownError} naming the opening line, as
        left open by the code under test; the port is stopped anyway.
        """
        numbers: list[int] = []

        def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            # opens on the next line: strictPort
            port = reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
            numbers.append(portNumber(port))

        warmUp()
        files = openFiles()
        result = sample(body, strictCleanup=True)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(
            (leftover.origin.filename, leftover.origin.lineno),
            (thisFile(), markedLine("strictPort")),
        )
        self.assertIn(LEFT_OPEN, leftover.action)
        self.assertEqual(leftover.local, f"127.0.0.1:{numbers[0]}")
        self.assertTrue(refuses(numbers[0]))
        self.assertEqual(openFiles() - files, set())

    def test_connectionLeftOpen(self) -> None:
        """
        A client the code under test connected with C{connectTCP} to a
        C{listen()} port and left open fails the test with one leftover, at
        the C{connectTCP} line, as left open by the code under test (the
        server end, accepted by trialnet's port, is not named).
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        clientFactory = Announcing(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            # opens on the next line: strictConnect
            reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
            await clientFactory.nextMade()

        result = sample(body, strictCleanup=True)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(
            (leftover.origin.filename, leftover.origin.lineno),
            (thisFile(), markedLine("strictConnect")),
        )
        self.assertIn(LEFT_OPEN, leftover.action)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_closedByItself(self) -> None:
        """
        A port and a connection the code under test opened and closed itself
        before the test ended are not reported.
        """
        events = Events()
        serverFactory = Announcing(events, "server")
        clientFactory = Announcing(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
            reactor.connectTCP("127.0.0.1", portNumber(port), clientFactory)
            client = await clientFactory.nextMade()
            server = await serverFactory.nextMade()
            await maybeDeferred(port.stopListening)
            client.transport.loseConnection()  # type: ignore[union-attr]
            await client.lost
            await server.lost

        runObserved(self, body, strictCleanup=True)

    def test_openedThroughTrialnetOrTracked(self) -> None:
        """
        What the test opened through trialnet's own methods, and what it
        adopted with C{track()}, is closed at the teardown without a report.
        """
        events = Events()
        clientFactory = Announcing(events, "client")

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(LoggingFactory(events, "server"))
            await case.connect(port, LoggingFactory(events, "client"))
            own = case.track(
                reactor.listenTCP(
                    0, LoggingFactory(events, "server"), interface="127.0.0.1"
                )
            )
            case.track(reactor.connectTCP("127.0.0.1", portNumber(own), clientFactory))
            await clientFactory.nextMade()

        runObserved(self, body, strictCleanup=True)
        self.assertEqual(lostCounts(events), (2, 2))

    def test_network(self) -> None:
        """
        A L{Network} made with C{strictCleanup=True} reports, from its
        C{close()}, a port the code under test opened while it was open;
        one made without it closes that port quietly.
        """
        leftovers: list[TeardownError] = []
        numbers: list[int] = []

        class Sample(TestCase):
            async def test_it(self) -> None:
                from twisted.internet import reactor

                strict = Network(strictCleanup=True)  # type: ignore[call-arg, unused-ignore]
                # opens on the next line: networkPort
                port = reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
                numbers.append(portNumber(port))
                try:
                    await strict.close()
                except TeardownError as error:
                    leftovers.append(error)
                lenient = Network()
                port = reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
                numbers.append(portNumber(port))
                await lenient.close()

        result = runSample(Sample)

        assertPassed(self, result)
        (error,) = leftovers
        (leftover,) = error.leftovers
        self.assertEqual(leftover.origin.lineno, markedLine("networkPort"))
        self.assertIn(LEFT_OPEN, leftover.action)
        self.assertTrue(refuses(numbers[0]))
        self.assertTrue(refuses(numbers[1]))


class TestRunNetworkTests(SynchronousTestCase):
    """
    A test's network is made at the first thing opened, by the test or by
    the code under test, and the run hands it what it observed.
    """

    def countNetworks(self) -> list[object]:
        """
        Count the networks test runs make from now on.
        """
        made: list[object] = []

        class Counting(_run._CaseNetwork):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                made.append(self)
                super().__init__(*args, **kwargs)

        self.patch(_run, "_CaseNetwork", Counting)
        return made

    def test_nothingOpened(self) -> None:
        """
        A test that opens nothing makes no network, and passes.
        """
        made = self.countNetworks()

        async def body(case: NetworkTestCase) -> None:
            pass

        assertPassed(self, sample(body))
        self.assertEqual(made, [])

    def test_openedInSetUpByCodeUnderTest(self) -> None:
        """
        A port the code under test opens in C{setUp}, before the test opened
        anything through trialnet, makes the test's one network and joins
        its teardown: the test passes and the port is closed after it.
        """
        made = self.countNetworks()
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                from twisted.internet import reactor

                port = reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
                numbers.append(portNumber(port))

            async def test_it(self) -> None:
                port = self.listen(plainFactory())
                await self.connect(port, Protocol())

        assertPassed(self, runSample(Sample))
        self.assertEqual(len(made), 1)
        self.assertTrue(refuses(numbers[0]))

    def test_innerNetworkMadeFirst(self) -> None:
        """
        A L{Network} the test makes before its first C{listen()} stays the
        innermost: what the code under test opens while it is open is its,
        and a strict one reports it.
        """
        leftovers: list[TeardownError] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            inner = Network(strictCleanup=True)
            case.listen(plainFactory())
            reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
            try:
                await inner.close()
            except TeardownError as error:
                leftovers.append(error)

        assertPassed(self, sample(body))
        (error,) = leftovers
        self.assertEqual(len(error.leftovers), 1)


class DelegatingWithoutWeakrefs:
    """
    A reactor in front of another: every attribute it lacks is the other's.
    It cannot be referenced weakly.
    """

    __slots__ = ("__dict__", "_behind")

    def __init__(self, behind: object) -> None:
        self._behind = behind

    def __getattr__(self, name: str) -> Any:
        return getattr(self._behind, name)


class Delegating(DelegatingWithoutWeakrefs):
    """
    A L{DelegatingWithoutWeakrefs} that can be referenced weakly.
    """

    __slots__ = ("__weakref__",)


class ReactorRestoredTests(SynchronousTestCase):
    """
    Observing the reactor's methods leaves no trace once a test is over.
    """

    def assertRestored(self, names: set[str], methods: dict[str, object]) -> None:
        """
        Assert the reactor's instance attributes are the C{names} it had, and
        each opening method is the reactor's own, as before.
        """
        from twisted.internet import reactor

        self.assertEqual(set(vars(reactor)), names)
        for name in OPENERS:
            self.assertNotIn(name, vars(reactor))
            function = getattr(reactor, name).__func__
            self.assertIs(function, methods[name], name)
            self.assertTrue(function.__module__.startswith("twisted."), name)

    def snapshot(self) -> tuple[set[str], dict[str, object]]:
        """
        The reactor's instance attribute names, and its opening methods'
        functions, once a first run of it set what trial's runs of it set.
        """
        from twisted.internet import reactor

        warmUp()

        methods = {name: getattr(reactor, name).__func__ for name in OPENERS}
        return set(vars(reactor)), methods

    def test_afterSample(self) -> None:
        """
        After a sample that listened and connected through trialnet and
        through the reactor, passing or failing, the reactor's opening
        methods are its own again and it has no new instance attribute.
        """
        events = Events()
        names, methods = self.snapshot()

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(LoggingFactory(events, "server"))
            await case.connect(port, LoggingFactory(events, "client"))
            reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")  # type: ignore[attr-defined]

        assertPassed(self, sample(body))
        self.assertRestored(names, methods)

        def failing(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            raise RuntimeError("the body broke")

        self.assertEqual(errorTypes(sample(failing)), [RuntimeError])
        self.assertRestored(names, methods)

    def test_wrappersUnwrapToTheReactors(self) -> None:
        """
        While a test runs, each observed opening method unwraps to the
        reactor's own (so that C{inspect.signature} and C{inspect.unwrap}
        show it, not trialnet's wrapper); after the test, the wrapper holds
        on to nothing.
        """
        names, methods = self.snapshot()
        seen: dict[str, Any] = {}

        def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            for name in OPENERS:
                wrapper = getattr(reactor, name)
                seen[name] = wrapper
                self.assertIs(inspect.unwrap(wrapper).__func__, methods[name], name)
                self.assertEqual(
                    inspect.signature(wrapper),
                    inspect.signature(getattr(type(reactor), name).__get__(reactor)),
                    name,
                )

        assertPassed(self, sample(body))
        self.assertEqual(set(seen), set(OPENERS))
        for name, wrapper in seen.items():
            # trialnet's wrapper, not the reactor's bound method.
            self.assertFalse(inspect.ismethod(wrapper), name)
            self.assertFalse(hasattr(wrapper, "__wrapped__"), name)
        self.assertRestored(names, methods)

    def test_patchedInSetUp(self) -> None:
        """
        A test that patches the reactor's C{connectTCP} with trial's
        C{self.patch} in C{setUp} (whose cleanup puts back what it found,
        the observer's method) leaves the reactor exactly as before.
        """
        names, methods = self.snapshot()
        calls: list[object] = []

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                from twisted.internet import reactor

                connect = reactor.connectTCP

                def counting(*args: Any, **kwargs: Any) -> Any:
                    calls.append(args)
                    return connect(*args, **kwargs)

                self.patch(reactor, "connectTCP", counting)

            async def test_it(self) -> None:
                port = self.listen(LoggingFactory(Events(), "server"))
                await self.connect(port, Protocol())

        result = runSample(Sample)

        assertPassed(self, result)
        self.assertEqual(len(calls), 1)
        self.assertRestored(names, methods)

    def test_networkInsideCase(self) -> None:
        """
        A L{Network} made and closed inside a sample's body leaves the test
        case's own observation in place (a port the code under test opens
        afterwards still joins the test's teardown), and after the sample
        the reactor is exactly as before.
        """
        events = Events()
        names, methods = self.snapshot()
        numbers: list[int] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            case.listen(LoggingFactory(events, "server"))
            network = Network()
            inner = network.listen(LoggingFactory(events, "server"))
            numbers.append(portNumber(inner))
            reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            await network.close()
            later = reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            numbers.append(portNumber(later))

        runObserved(self, body)
        self.assertRestored(names, methods)
        self.assertEqual([refuses(number) for number in numbers], [True, True])

    def test_reactorNotKept(self) -> None:
        """
        A reactor a network observed, and that nobody else holds, is freed
        once the network closed: the observer kept between tests holds it
        weakly.
        """
        reactor = MemoryReactorClock()
        network = Network(reactor=reactor)
        network.listen(Factory.forProtocol(Protocol))
        self.successResultOf(network.close())
        network._stopObserving()
        freed = weakref.ref(reactor)
        del reactor, network
        gc.collect()
        self.assertIsNone(freed())

    def test_delegatingReactor(self) -> None:
        """
        A reactor whose opening methods come from C{__getattr__} (a proxy in
        front of another reactor), with or without weak references, is
        observed: what the code under test opens on it reaches the reactor
        behind it, and the network is told of it.
        """
        for proxy in (Delegating, DelegatingWithoutWeakrefs):
            reactor = MemoryReactorClock()
            front = proxy(reactor)
            network = Network(reactor=front, strictCleanup=True)
            front.listenTCP(0, Factory.forProtocol(Protocol))
            self.assertEqual(len(reactor.tcpServers), 1, proxy)
            self.failureResultOf(network.close(), TeardownError)
            network._stopObserving()
            self.assertNotIn("listenTCP", vars(front))
            if proxy is DelegatingWithoutWeakrefs:
                # Held strongly while observed: not kept after.
                self.assertNotIn(id(front), _observe._observers)

    def test_patchedOverThenPutBack(self) -> None:
        """
        When someone patches over the observer's wrapper, and puts it back
        only after the network stopped observing, the wrapper still calls
        what was under it (here, a patch of the test's): nothing is skipped.
        """
        reactor = MemoryReactorClock()
        calls: list[object] = []
        own = reactor.listenTCP

        def earlier(*args: Any, **kwargs: Any) -> Any:
            calls.append("earlier")
            return own(*args, **kwargs)

        vars(reactor)["listenTCP"] = earlier
        network = Network(reactor=reactor)
        wrapper = vars(reactor)["listenTCP"]
        vars(reactor)["listenTCP"] = lambda *a, **k: wrapper(*a, **k)
        network._stopObserving()
        vars(reactor)["listenTCP"] = wrapper
        reactor.listenTCP(0, Factory.forProtocol(Protocol))
        self.assertEqual(calls, ["earlier"])
        self.assertEqual(len(reactor.tcpServers), 1)

    def test_patchedOverForGood(self) -> None:
        """
        A patch over the observer's wrapper that is never undone is what the
        next network's wrapper calls, and it calls the old wrapper, which
        calls the reactor: the port opens once, with no recursion, and the
        next network is told of it.
        """
        reactor = MemoryReactorClock()
        first = Network(reactor=reactor)
        wrapper = vars(reactor)["listenTCP"]
        vars(reactor)["listenTCP"] = lambda *a, **k: wrapper(*a, **k)
        first._stopObserving()
        second = Network(reactor=reactor, strictCleanup=True)
        reactor.listenTCP(0, Factory.forProtocol(Protocol))
        self.assertEqual(len(reactor.tcpServers), 1)
        self.failureResultOf(second.close(), TeardownError)
        second._stopObserving()

    def test_wrapperPutBackLate(self) -> None:
        """
        A wrapper of the observer's that someone put back on the reactor
        after the last network stopped observing is not taken for the
        reactor's own method at the next observation: the port opens once,
        the network is told of it (a strict one reports it left open), and
        the wrapper goes at the end.
        """
        reactor = MemoryReactorClock()
        first = Network(reactor=reactor)
        wrapper = reactor.listenTCP
        first._stopObserving()
        reactor.listenTCP = wrapper  # type: ignore[method-assign]
        second = Network(reactor=reactor, strictCleanup=True)
        reactor.listenTCP(0, Factory.forProtocol(Protocol))
        self.assertEqual(len(reactor.tcpServers), 1)
        # Told of the port, the strict network reports it left open.
        self.failureResultOf(second.close(), TeardownError)
        second._stopObserving()
        self.assertNotIn("listenTCP", vars(reactor))


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "tests", "pytest_samples", "observed_fixture.py")


def runPytest(
    reactor: str, *options: str, samples: str = SAMPLES
) -> tuple[dict[str, list[str]], list[int], str]:
    """
    Run the observed-fixture samples (or those of the file C{samples})
    under pytest-twisted with C{reactor} and extra command-line C{options}.

    @return: For each test, its outcomes (C{"passed"}, or C{"error: ..."}
        with its message); the port numbers the samples listened on; and
        pytest's output.
    """
    with tempfile.TemporaryDirectory() as directory:
        report = os.path.join(directory, "report.xml")
        ports = os.path.join(directory, "ports")
        open(ports, "w").close()
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                f"--reactor={reactor}",
                f"--junitxml={report}",
                "-q",
                *options,
                samples,
            ],
            env=dict(
                os.environ,
                TRIALNET_SAMPLE_PORTS=ports,
                # This checkout's trialnet, whatever the environment installed.
                PYTHONPATH=os.pathsep.join(
                    filter(None, [ROOT, os.environ.get("PYTHONPATH")])
                ),
            ),
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = completed.stdout + completed.stderr
        outcomes: dict[str, list[str]] = {}
        for case in ElementTree.parse(report).iter("testcase"):
            kinds = outcomes.setdefault(case.get("name", ""), [])
            for child in case:
                if child.tag in ("error", "failure", "skipped"):
                    kinds.append(f"{child.tag}: {child.get('message', '')}")
                    kinds.append(child.text or "")
            if not kinds:
                kinds.append("passed")
        with open(ports) as f:
            numbers = [int(line) for line in f if line.strip()]
    return outcomes, numbers, output


if TYPE_CHECKING:
    _MixinBase = SynchronousTestCase
else:
    _MixinBase = object


class ObservedFixtureMixin(_MixinBase):
    """
    The pytest C{network} fixture's contract for what the code under test
    opened, for one reactor.
    """

    reactor = ""

    def test_closedAtTeardown(self) -> None:
        """
        A port the test opened with the reactor's C{listenTCP} is closed at
        the fixture's teardown: the test passes, and the next test of the
        session finds no socket left in the reactor.
        """
        outcomes, ports, output = runPytest(self.reactor)

        self.assertEqual(outcomes.get("test_portByReactor"), ["passed"], output)
        self.assertEqual(outcomes.get("test_reactorClean"), ["passed"], output)
        self.assertEqual(len(ports), 1, output)

    def test_strict(self) -> None:
        """
        With the ini option C{trialnet_strict_cleanup = true}, that port is
        the test's error at its teardown, naming it as left open by the code
        under test; it is closed anyway (the next test finds no socket).
        """
        outcomes, ports, output = runPytest(
            self.reactor, "-o", "trialnet_strict_cleanup=true"
        )

        kinds = outcomes.get("test_portByReactor", [])
        self.assertIn("error: failed on teardown", " ".join(kinds), output)
        self.assertIn("TeardownError", output)
        self.assertIn(LEFT_OPEN, output)
        self.assertEqual(outcomes.get("test_reactorClean"), ["passed"], output)
        self.assertEqual(len(ports), 1, output)


class ObservedFixtureDefaultReactorTests(ObservedFixtureMixin, SynchronousTestCase):
    """
    The fixture's contract with pytest-twisted's default reactor.
    """

    reactor = "default"


class ObservedFixtureAsyncioReactorTests(ObservedFixtureMixin, SynchronousTestCase):
    """
    The fixture's contract with pytest-twisted's asyncio reactor.
    """

    reactor = "asyncio"
