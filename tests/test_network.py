"""
The teardown's logic, driven step by step with a fake reactor and fakes
that implement the real interfaces.
"""

from __future__ import annotations

import gc
import weakref

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SkipTest, SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from trialnet import Network, NetworkTestCase, TeardownError
from trialnet._core._report import Leftover
from trialnet._core._teardown import ABORT_GRACE

from .helpers import errorValues, refuses, runSample


@implementer(IListeningPort)
class FakePort:
    """
    A listening port whose stop completes when the test says so.

    @ivar stops: How many times C{stopListening} really ran.
    @ivar socket: Its socket, as the reactor's ports hold one.
    """

    def __init__(self) -> None:
        self.socket = FakeSocket()
        self.stops = 0
        self.starts = 0
        self.stopping: Deferred[None] | None = None
        self.factory = Factory.forProtocol(Protocol)

    def startListening(self) -> None:
        self.starts += 1

    def stopListening(self) -> Deferred[None]:
        self.stops += 1
        self.stopping = Deferred()
        return self.stopping

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 4321)

    def finishStop(self) -> None:
        assert self.stopping is not None
        self.stopping.callback(None)


class FakeSocket:
    """
    A socket that only knows whether it was closed.
    """

    closed = False

    def close(self) -> None:
        self.closed = True


class Lost(Protocol):
    """
    Records the reasons its connection was lost for.
    """

    def __init__(self) -> None:
        self.reasons: list[Failure] = []

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.reasons.append(reason)


def outcome(deferred: Deferred[None]) -> list[object]:
    """
    Collect what a Deferred fired with, success or failure.
    """
    results: list[object] = []
    deferred.addBoth(results.append)
    return results


def teardownLeftovers(outcome: list[object]) -> tuple[Leftover, ...]:
    """
    The leftovers of the one outcome of a close that failed.
    """
    (failure,) = outcome
    assert isinstance(failure, Failure)
    assert isinstance(failure.value, TeardownError)
    return failure.value.leftovers


class CloseTests(SynchronousTestCase):
    """
    L{Network.close} is the whole teardown, once.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.network = Network(self.reactor, disconnectTimeout=5.0)

    def test_nothingOpened(self) -> None:
        """
        Closing a network that opened nothing succeeds at once, and every
        later close gives the same outcome.
        """
        self.assertEqual(outcome(self.network.close()), [None])
        self.assertEqual(outcome(self.network.close()), [None])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_closedNetworkRefusesToOpen(self) -> None:
        """
        Opening anything after the teardown started is a clear error.
        """
        self.network.close()
        error = self.assertRaises(
            RuntimeError, self.network.listen, Factory.forProtocol(Protocol)
        )
        self.assertIn("closed or closing", str(error))

    def test_fakePortImplementsInterface(self) -> None:
        """
        The fake port used below provides L{IListeningPort}.
        """
        self.assertTrue(verifyObject(IListeningPort, FakePort()))

    def test_portStoppedOnce(self) -> None:
        """
        A port stopped twice by the test and once more by the teardown is
        really stopped once, and the teardown waits for that stop.
        """
        port = FakePort()
        self.network.track(port)
        first, second = port.stopListening(), port.stopListening()
        closed = outcome(self.network.close())
        self.assertEqual((port.stops, closed), (1, []))
        port.finishStop()
        self.assertEqual(
            (outcome(first), outcome(second), closed), ([None], [None], [None])
        )

    def test_restartedPortStoppedAgain(self) -> None:
        """
        A port the test stopped and started again is stopped by the teardown;
        one it stopped for good is not stopped twice.
        """
        restarted, stopped = FakePort(), FakePort()
        for port in (restarted, stopped):
            self.network.track(port)
            port.stopListening()
            port.finishStop()
        restarted.startListening()
        restarted.stopping = None
        closed = outcome(self.network.close())
        restarted.finishStop()
        self.assertEqual((restarted.stops, stopped.stops, closed), (2, 1, [None]))

    def test_portThatNeverStops(self) -> None:
        """
        A port whose stop never completes is reported after the bound, taken
        out of the reactor, and its socket is closed.
        """
        port = FakePort()
        self.network.track(port)
        self.reactor.addReader(port)
        closed = outcome(self.network.close())
        self.reactor.advance(5.0)
        self.reactor.advance(ABORT_GRACE)
        (leftover,) = teardownLeftovers(closed)
        self.assertEqual(leftover.role, "port")
        self.assertIn("still listening", leftover.action)
        self.assertEqual(
            (leftover.local, self.reactor.getReaders()), ("127.0.0.1:4321", [])
        )
        self.assertTrue(port.socket.closed)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_connectionThatIgnoresAbort(self) -> None:
        """
        A connection whose transport ignores both C{loseConnection} and
        C{abortConnection} is aborted after the bound, then its protocol is
        told the connection is gone, and the report says it was forced.
        """
        protocol = Lost()
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.network.track(protocol)
        closed = outcome(self.network.close())
        self.assertTrue(transport.disconnecting)
        self.reactor.advance(5.0)
        self.assertTrue(transport.disconnected)
        self.assertEqual(closed, [])
        self.reactor.advance(ABORT_GRACE)
        (leftover,) = teardownLeftovers(closed)
        self.assertEqual(leftover.role, "tracked")
        self.assertIn("closed by force", leftover.action)
        self.assertTrue(protocol.reasons[0].check(ConnectionAborted))
        self.assertNotIn("connectionLost", vars(protocol))

    def test_connectionClosingInTime(self) -> None:
        """
        A connection that closes before the bound is not reported, and the
        bound's timer is cancelled.
        """
        protocol = Lost()
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.network.track(protocol)
        closed = outcome(self.network.close())
        protocol.connectionLost(Failure(ConnectionAborted()))
        self.reactor.advance(0)
        self.assertEqual(closed, [None])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_closingRaises(self) -> None:
        """
        A transport whose C{loseConnection} raises is logged and does not
        stop the teardown: the other ends are closed, and the bound still
        aborts and reports the broken one.
        """

        class Broken(StringTransport):
            def loseConnection(self) -> None:
                raise RuntimeError("loseConnection broke")

        broken, fine = Lost(), Lost()
        broken.makeConnection(Broken())
        fineTransport = StringTransport()
        fine.makeConnection(fineTransport)
        self.network.track(broken)
        self.network.track(fine)
        closed = outcome(self.network.close())
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue(fineTransport.disconnecting)
        fine.connectionLost(Failure(ConnectionAborted()))
        self.reactor.advance(5.0)
        self.reactor.advance(ABORT_GRACE)
        (leftover,) = teardownLeftovers(closed)
        self.assertIn("Lost", leftover.kind)
        # Its abortConnection raised too, and was logged the same way.
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_factoryOfAnotherNetwork(self) -> None:
        """
        A factory that another network listens with is refused before
        anything opens: closing one network would undo the other's tracking.
        """
        factory = Factory.forProtocol(Protocol)
        Network(self.reactor).listen(factory)
        error = self.assertRaises(ValueError, self.network.listen, factory)
        self.assertIn("another trialnet Network", str(error))
        self.assertEqual(len(self.reactor.tcpServers), 1)

    def test_portOfAnotherNetwork(self) -> None:
        """
        A port another network tracks is refused by C{track()}: closing one
        network would undo the other's tracking.  (A port with no factory to
        observe, so that the port itself is what is refused.)
        """
        reactor = MemoryReactorClock()
        port = reactor.listenTCP(0, Factory.forProtocol(Protocol))
        Network(reactor).track(port)
        error = self.assertRaises(ValueError, Network(reactor).track, port)
        self.assertIn("another trialnet Network", str(error))

    def test_protocolInstanceConnectingAlready(self) -> None:
        """
        A protocol instance that one connect() is connecting is refused by a
        second, in another network, before that one opens anything.
        """
        other = Network(self.reactor)
        protocol = Protocol()
        other.connect(("127.0.0.1", 1234), protocol)
        self.reactor.tcpClients[0][2].buildProtocol(None)
        error = self.assertRaises(
            ValueError, self.network.connect, ("127.0.0.1", 1234), protocol
        )
        self.assertIn("already connected through trialnet", str(error))
        self.assertEqual(len(self.reactor.tcpClients), 1)

    def test_droppedUnclosed(self) -> None:
        """
        A network dropped without being closed is freed at once (its parts
        refer back to it weakly), so it stops observing the reactor then,
        not at some later garbage collection: what is opened on the reactor
        afterwards is left alone, and the reactor has its own methods back.
        """
        if gc.isenabled():
            gc.disable()
            self.addCleanup(gc.enable)
        reactor = MemoryReactorClock()
        own = set(vars(reactor))
        network = Network(reactor)
        network.listen(Factory.forProtocol(Protocol))
        reference = weakref.ref(network)
        del network
        self.assertIsNone(reference())
        self.assertEqual(set(vars(reactor)), own)
        factory = Factory.forProtocol(Protocol)
        reactor.listenTCP(0, factory)
        self.assertNotIn("buildProtocol", vars(factory))


class RunAgain(NetworkTestCase):
    """
    A case run twice (as C{trial -u} does) whose C{tearDown} listens, and
    whose code under test listens there too; the second run also listens in
    the test.
    """

    listenInTest = False

    def test_it(self) -> None:
        if self.listenInTest:
            self.listen(Factory.forProtocol(Protocol))

    def tearDown(self) -> None:
        from twisted.internet import reactor

        self.listen(Factory.forProtocol(Protocol))
        reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")  # type: ignore[arg-type]


class CaseTests(SynchronousTestCase):
    """
    L{NetworkTestCase} makes its network lazily and closes late use.
    """

    def test_noNetworkWithoutUse(self) -> None:
        """
        A test that opens nothing adds no cleanup.
        """

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                self.assertEqual(self._cleanups, [])

        self.assertTrue(runSample(Sample).wasSuccessful())

    def test_runAgainAfterTearDownListened(self) -> None:
        """
        A case whose C{tearDown} listened runs again cleanly: what it opened
        there left no cleanup behind for the next run.
        """
        case = RunAgain("test_it")
        first = TestResult()
        case.run(first)
        case.listenInTest = True
        second = TestResult()
        case.run(second)
        self.assertEqual(
            [(result.errors, result.wasSuccessful()) for result in (first, second)],
            [([], True), ([], True)],
        )

    def test_runAgainWithSetUpOnInstance(self) -> None:
        """
        A C{setUp} and a C{tearDown} the test set on itself run in every run
        of it (as C{trial -u} runs it), and are its own again after each.
        """
        calls: list[str] = []

        class Sample(NetworkTestCase):
            def __init__(self, methodName: str) -> None:
                super().__init__(methodName)
                self.setUp = lambda: calls.append("setUp")  # type: ignore[method-assign]
                self.tearDown = lambda: calls.append("tearDown")  # type: ignore[method-assign]

            def test_it(self) -> None:
                self.listen(Factory.forProtocol(Protocol))

        case = Sample("test_it")
        ownSetUp, ownTearDown = case.setUp, case.tearDown
        for _ in range(2):
            result = TestResult()
            case.run(result)
            self.assertTrue(result.wasSuccessful(), result.errors)
            self.assertIs(case.setUp, ownSetUp)
            self.assertIs(case.tearDown, ownTearDown)
        self.assertEqual(calls, ["setUp", "tearDown"] * 2)

    def test_bareSkipInSetUp(self) -> None:
        """
        A C{setUp} that raises C{SkipTest} with no reason skips the test, as
        trial does without trialnet (which warns that a reason is missing).
        """

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                raise SkipTest()  # type: ignore[call-arg]  # no reason, on purpose

            def test_it(self) -> None:
                self.listen(Factory.forProtocol(Protocol))

        case = Sample("test_it")
        result = TestResult()
        case.run(result)
        self.assertEqual([test for test, _ in result.skips], [case])
        self.assertEqual((result.errors, result.successes), ([], 0))
        warned = self.flushWarnings()
        self.assertEqual(len(warned), 1)
        self.assertIn("SkipTest with no arguments", warned[0]["message"])

    def test_listenInTearDown(self) -> None:
        """
        A port listened on from C{tearDown}, after trial ran the cleanups
        and with them trialnet's teardown, is closed after C{tearDown}: the
        test passes and the port refuses connections.
        """
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                self.listen(Factory.forProtocol(Protocol))

            def tearDown(self) -> None:
                port = self.listen(Factory.forProtocol(Protocol))
                numbers.append(port.getHost().port)  # type: ignore[attr-defined]

        result = runSample(Sample)
        self.assertEqual(errorValues(result), [])
        self.assertTrue(result.wasSuccessful())
        (number,) = numbers
        self.assertTrue(refuses(number))
