"""
The conversation helpers: waits that fire as data arrives and fail, with a
clear message, after their bound.  The logic is driven with a fake clock and
transport; one test runs a conversation over real sockets.
"""

from __future__ import annotations

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import (
    ClosedWhileWaitingError,
    NetworkTestCase,
    Recorder,
    RecorderFactory,
    WaitTimeoutError,
)
from trialnet._waits._interfaces import IBoundedWaits

from ..helpers import assertCleanRun, sample


def connected() -> tuple[Recorder, Clock]:
    """
    A recorder on a fake transport, with a fake clock.
    """
    clock = Clock()
    recorder = Recorder()
    recorder.clock = clock
    recorder.makeConnection(StringTransport())
    return recorder, clock


class WaitTests(SynchronousTestCase):
    """
    L{Recorder}'s waits.
    """

    def test_bytesArriveInPieces(self) -> None:
        """
        C{waitForBytes} fires once enough bytes arrived, with all of them,
        and cancels its timer.
        """
        recorder, clock = connected()
        waiting = recorder.waitForBytes(5)
        recorder.dataReceived(b"he")
        self.assertNoResult(waiting)
        recorder.dataReceived(b"llo!")
        self.assertEqual(self.successResultOf(waiting), b"hello!")
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_alreadyArrived(self) -> None:
        """
        A wait for what already arrived fires at once, with no timer.
        """
        recorder, clock = connected()
        recorder.dataReceived(b"line\r\nmore")
        self.assertEqual(
            self.successResultOf(recorder.waitForDelimiter(b"\r\n")), b"line\r\n"
        )
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_delimiterAcrossPieces(self) -> None:
        """
        A delimiter split across two reads is found, and the result stops
        right after it.
        """
        recorder, _ = connected()
        waiting = recorder.waitForDelimiter(b"\r\n")
        recorder.dataReceived(b"HELLO\r")
        self.assertNoResult(waiting)
        recorder.dataReceived(b"\nnext")
        self.assertEqual(self.successResultOf(waiting), b"HELLO\r\n")

    def test_timeoutSaysWhatAndWhat(self) -> None:
        """
        After its bound, a wait fails with L{WaitTimeoutError} that names what it
        waited for and what had arrived.
        """
        recorder, clock = connected()
        waiting = recorder.waitForDelimiter(b"\n", timeout=2.0)
        recorder.dataReceived(b"partial")
        clock.advance(1.9)
        self.assertNoResult(waiting)
        clock.advance(0.1)
        error = self.failureResultOf(waiting, WaitTimeoutError).value
        self.assertEqual(
            str(error),
            "waited 2.00s for the delimiter b'\\n'; received so far 7 bytes: "
            "b'partial'",
        )
        self.assertEqual(error.received, b"partial")

    def test_defaultBound(self) -> None:
        """
        Without a timeout, a wait is bounded by C{waitTimeout}.
        """
        recorder, clock = connected()
        recorder.waitTimeout = 3.0
        waiting = recorder.waitForBytes(1)
        clock.advance(3.0)
        self.failureResultOf(waiting, WaitTimeoutError)

    def test_closeFailsDataWaits(self) -> None:
        """
        When the connection closes, waits for data fail with
        L{ClosedWhileWaitingError}, and waits for the close fire.
        """
        recorder, clock = connected()
        forData = recorder.waitForBytes(10)
        forClose = recorder.waitForClose()
        recorder.dataReceived(b"abc")
        recorder.connectionLost(Failure(Exception("gone")))
        error = self.failureResultOf(forData, ClosedWhileWaitingError).value
        self.assertIn("at least 10 bytes", str(error))
        self.assertIn("3 bytes: b'abc'", str(error))
        self.assertIsNone(self.successResultOf(forClose))
        self.assertEqual(clock.getDelayedCalls(), [])
        self.failureResultOf(recorder.waitForBytes(5), ClosedWhileWaitingError)

    def test_badArguments(self) -> None:
        """
        A negative count, an empty delimiter and a non-positive timeout are
        C{ValueError}s.
        """
        recorder, _ = connected()
        self.assertRaises(ValueError, recorder.waitForBytes, -1)
        self.assertRaises(ValueError, recorder.waitForDelimiter, b"")
        self.assertRaises(ValueError, recorder.waitForClose, 0)

    def test_factoryKeepsBuilt(self) -> None:
        """
        L{RecorderFactory} keeps what it built, in order.
        """
        factory = RecorderFactory()
        first, second = factory.buildProtocol(None), factory.buildProtocol(None)  # type: ignore[arg-type]
        self.assertEqual(factory.built, [first, second])
        self.assertIs(first.factory, factory)


class Greeter(Protocol):
    """
    Greets, then answers each line with its length.
    """

    def connectionMade(self) -> None:
        self.transport.write(b"HELLO\r\n")  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"%d\r\n" % len(data.strip()))  # type: ignore[union-attr]
        if data.strip() == b"bye":
            self.transport.loseConnection()  # type: ignore[union-attr]


class RealConversationTests(SynchronousTestCase):
    """
    A conversation over real sockets, with the bound taken from the test.
    """

    def test_conversation(self) -> None:
        """
        The client waits for the greeting, an answer and the server's close,
        and the network gave its recorder a bound from the test's timeout.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Greeter))
            client = await case.connect(port, RecorderFactory())
            assert isinstance(client, Recorder)
            seen.append(await client.waitForDelimiter(b"\r\n"))
            client.transport.write(b"bye\r\n")  # type: ignore[union-attr]
            seen.append(await client.waitForBytes(len(b"HELLO\r\n3\r\n")))
            await client.waitForClose()
            seen.append(client.waitTimeout)

        result = sample(body, timeout=8.0)

        assertCleanRun(self, result)
        self.assertEqual(seen, [b"HELLO\r\n", b"HELLO\r\n3\r\n", 2.0])

    def test_boundReadWhenNeeded(self) -> None:
        """
        The recorders' bound is the test's timeout as it is when the first
        recorder needs it, not when the test first opened something.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Greeter))
            case.timeout = 12.0  # type: ignore[attr-defined]
            client = await case.connect(port, RecorderFactory())
            assert isinstance(client, Recorder)
            seen.append(client.waitTimeout)

        assertCleanRun(self, sample(body, timeout=8.0))
        self.assertEqual(seen, [3.0])

    def test_boundedWaitsWithoutFailFast(self) -> None:
        """
        A protocol that declares L{IBoundedWaits} but has no C{failFast}
        cannot take the network's settings: it connects and closes as any
        other, untouched, with no error from trialnet's hook.
        """
        seen: list[object] = []

        # Missing a member of the interface on purpose: what is tested.
        @implementer(IBoundedWaits)
        class Declared(Protocol):  # type: ignore[misc]
            waitTimeout = None

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Greeter))
            client = await case.connect(port, Factory.forProtocol(Declared))
            seen.append(client.waitTimeout)
            seen.append(hasattr(client, "failFast"))

        assertCleanRun(self, sample(body, timeout=8.0))
        self.assertEqual(seen, [None, False])
