"""
What the tests share: running sample test cases into a result, protocols
that record what happens to them, and counting the process's open files.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
import socket
from collections.abc import Callable

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IProtocol, IPullProducer
from twisted.internet.protocol import (
    ClientFactory,
    Factory,
    Protocol,
    ServerFactory,
    connectionDone,
)
from twisted.python.failure import Failure
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.resource import Resource
from twisted.web.server import Request
from zope.interface import implementer

from trialnet import Network, NetworkTestCase, TeardownError


def runSample(case: type[TestCase], name: str = "test_it") -> TestResult:
    """
    Run one test of a sample test case, as trial would, into a fresh result.
    """
    result = TestResult()
    case(name).run(result)
    return result


def sample(
    body: Callable[[NetworkTestCase], object],
    base: type[NetworkTestCase] = NetworkTestCase,
    **attributes: object,
) -> TestResult:
    """
    Run C{body} as the test method of a new sample L{NetworkTestCase} (a
    subclass of C{base} with C{attributes} set on the class), as trial would,
    into a fresh result.

    @param body: Called with the sample test case; it may be a coroutine
        function or return a L{Deferred}.
    """

    class Sample(base):  # type: ignore[valid-type, misc]
        def test_it(self) -> object:
            outcome = body(self)
            if inspect.iscoroutine(outcome):
                return Deferred.fromCoroutine(outcome)
            return outcome

    for name, value in attributes.items():
        setattr(Sample, name, value)
    return runSample(Sample)


def errorValues(result: TestResult) -> list[BaseException]:
    """
    The exceptions of a result's errors, in order.
    """
    values = []
    for _, failure in result.errors:
        assert isinstance(failure, Failure) and failure.value is not None
        values.append(failure.value)
    return values


def errorTypes(result: TestResult) -> list[type[BaseException]]:
    """
    The exception types of a result's errors, in order.
    """
    return [type(value) for value in errorValues(result)]


def teardownError(result: TestResult, index: int | None = None) -> TeardownError:
    """
    The one error of a result, or the error at C{index} of several, which
    must be a L{TeardownError}.
    """
    errors = errorValues(result)
    if index is None:
        (error,) = errors
    else:
        error = errors[index]
    assert isinstance(error, TeardownError), error
    return error


def portNumber(port: IListeningPort) -> int:
    """
    The port number a TCP port listens on.
    """
    address = port.getHost()
    assert isinstance(address, (IPv4Address, IPv6Address))
    return address.port


def openFileCount() -> int:
    """
    How many file descriptors this process has open.
    """
    return len(os.listdir("/proc/self/fd"))


def openFiles() -> set[tuple[str, str]]:
    """
    The sockets and files this process has open, each descriptor with what
    it is open on (C{socket:[inode]} for a socket): a new one in a later call
    was opened since, whatever else closed meanwhile.  The reactor's own
    pipes and poller, which a run of the reactor may make anew (its signal
    wakers), are left out.
    """
    files = set()
    for name in os.listdir("/proc/self/fd"):
        # The descriptor listdir itself used is closed by now.
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{name}")
            if not target.startswith(("pipe:", "anon_inode:")):
                files.add((name, target))
    return files


def refuses(port: int) -> bool:
    """
    Whether nothing listens on C{port} of the IPv4 loopback.
    """
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def socketsInReactor() -> set[object]:
    """
    The sockets (selectables with an address) the reactor watches now.
    """
    from twisted.internet import reactor

    watched = set(reactor.getReaders()) | set(reactor.getWriters())
    return {s for s in watched if callable(getattr(s, "getHost", None))}


def problemsOf(result: TestResult) -> list[str]:
    """
    Each error and failure of a result, as text.
    """
    return [
        f"{type(failure.value).__name__}: {failure.getErrorMessage()}"
        for _, failure in result.errors + result.failures
        if isinstance(failure, Failure)
    ]


def assertPassed(test: SynchronousTestCase, result: TestResult) -> None:
    """
    Assert a sample ran and passed, naming every error and failure if not.
    """
    if result.errors or result.failures or result.successes != 1:
        test.fail("the sample did not pass cleanly:\n" + "\n".join(problemsOf(result)))


def warmUp() -> None:
    """
    Open what the process opens once and keeps, before counting open files:
    the reactor's waker and poller, and the spare descriptor Twisted reserves
    at the first C{listenTCP}.
    """

    async def body(case: NetworkTestCase) -> None:
        port = case.listen(Factory.forProtocol(Protocol))
        await case.connect(port, Factory.forProtocol(Protocol))

    sample(body)
    # What earlier tests dropped without closing is closed now, not in the
    # middle of the count that follows.
    gc.collect()


def assertCleanRun(test: SynchronousTestCase, result: TestResult) -> None:
    """
    Assert a sample ran, passed and left no error or failure.
    """
    test.assertEqual((result.errors, result.failures, result.successes), ([], [], 1))


def ipv6Missing() -> str | None:
    """
    Why IPv6 loopback tests cannot run here, or L{None} when they can.
    """
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        return f"no IPv6 loopback: {e}"
    return None


class Events:
    """
    A log of what happened to the ports and protocols of one sample.
    """

    def __init__(self) -> None:
        self.log: list[str] = []

    def count(self, event: str) -> int:
        return self.log.count(event)


class LoggingProtocol(Protocol):
    """
    Records its connection's life and what it received.

    @ivar lost: Fires when C{connectionLost} ran.
    """

    events: Events
    role: str

    def __init__(self, events: Events, role: str) -> None:
        self.events = events
        self.role = role
        self.received = b""
        self.lost: Deferred[None] = Deferred()
        self.arrived: Deferred[bytes] | None = None

    def connectionMade(self) -> None:
        self.events.log.append(f"{self.role} made")

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.arrived is not None:
            arrived, self.arrived = self.arrived, None
            arrived.callback(self.received)

    def waitForData(self) -> Deferred[bytes]:
        self.arrived = Deferred()
        return self.arrived

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.events.log.append(f"{self.role} lost")
        self.lost.callback(None)


class Echo(LoggingProtocol):
    """
    A recorder that writes back what it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[union-attr]
        super().dataReceived(data)


class LoggingFactory(ClientFactory, ServerFactory):
    """
    Builds recorders, and counts and logs its own start, stop and client
    callbacks.
    """

    def __init__(
        self,
        events: Events,
        role: str,
        protocol: Callable[[Events, str], Protocol] = LoggingProtocol,
    ) -> None:
        self.events = events
        self.role = role
        self.makeProtocol = protocol
        self.built: list[Protocol] = []

    def buildProtocol(self, addr: object) -> Protocol:
        protocol = self.makeProtocol(self.events, self.role)
        protocol.factory = self
        self.built.append(protocol)
        return protocol

    def startFactory(self) -> None:
        self.events.log.append(f"{self.role} factory started")

    def stopFactory(self) -> None:
        self.events.log.append(f"{self.role} factory stopped")

    def startedConnecting(self, connector: object) -> None:
        self.events.log.append("startedConnecting")

    def clientConnectionFailed(self, connector: object, reason: Failure) -> None:
        self.events.log.append("clientConnectionFailed")

    def clientConnectionLost(self, connector: object, reason: Failure) -> None:
        self.events.log.append("clientConnectionLost")


@implementer(IPullProducer)
class NeverFinishes:
    """
    A pull producer that never produces and is never unregistered: its
    transport's C{loseConnection} can never complete.
    """

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class Stuck(LoggingProtocol):
    """
    A recorder whose transport holds a producer that never finishes.
    """

    def connectionMade(self) -> None:
        super().connectionMade()
        self.transport.registerProducer(NeverFinishes(), False)  # type: ignore[union-attr]


async def openPair(
    case: NetworkTestCase, serverFactory: Factory, clientFactory: Factory
) -> tuple[IListeningPort, IProtocol, IProtocol]:
    """
    Listen, connect one client, and wait until both ends are connected.

    @return: The port, the client protocol and the server protocol.
    """
    port = case.listen(serverFactory)
    client = await case.connect(port, clientFactory)
    server = await case.serverProtocolFor(client)
    return port, client, server


def lostCounts(events: Events) -> tuple[int, int]:
    """
    How many client and server ends reported C{connectionLost}.
    """
    return events.count("client lost"), events.count("server lost")


def recorders(events: Events) -> tuple[LoggingFactory, LoggingFactory]:
    """
    A server factory of echoing recorders and a client factory of recorders.
    """
    return LoggingFactory(events, "server", Echo), LoggingFactory(events, "client")


async def deferLaterTurn() -> None:
    """
    Let the reactor turn once.
    """
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await deferLater(reactor, 0.01, lambda: None)


def closedNetwork(test: SynchronousTestCase) -> Network:
    """
    A network on the global reactor that is closed when C{test} ends.

    A network left open observes the reactor until the garbage collector
    finds it (its parts refer back to it), and takes over what later tests
    open there: a test that makes one must close it, even one that opens
    nothing with it.
    """
    network = Network()
    test.addCleanup(network.close)
    return network


class Hello(Resource):
    """
    Says hello (or what C{answer} makes of each request), and counts the
    connections it was asked on.

    @ivar channels: The ids of the channels it answered on.
    """

    isLeaf = True

    def __init__(self, answer: Callable[[Request], bytes] | None = None) -> None:
        super().__init__()
        self.answer = answer
        self.channels: set[int] = set()

    def render_GET(self, request: Request) -> bytes:
        self.channels.add(id(request.channel))
        return b"hello" if self.answer is None else self.answer(request)
