"""
The consuming reads of L{Recorder} (C{readLine}, C{readBytes}) and C{send}:
each read hands out the next part of the stream once.  The logic runs on a
fake clock and transport; one test reads lines over real sockets.
"""

from __future__ import annotations

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from trialnet import (
    ClosedWhileWaitingError,
    NetworkTestCase,
    Recorder,
    WaitTimeoutError,
)

from ..helpers import assertCleanRun, sample
from .test_conversation import connected


class ReadTests(SynchronousTestCase):
    """
    L{Recorder.readLine}, L{Recorder.readBytes} and L{Recorder.send}.
    """

    def test_linesInTurn(self) -> None:
        """
        Successive C{readLine} calls give successive lines, without their
        delimiter, and leave C{received} whole.
        """
        recorder, clock = connected()
        recorder.dataReceived(b"one\r\ntwo\r\nthr")
        self.assertEqual(self.successResultOf(recorder.readLine()), b"one")
        self.assertEqual(self.successResultOf(recorder.readLine()), b"two")
        third = recorder.readLine()
        self.assertNoResult(third)
        recorder.dataReceived(b"ee\r\n")
        self.assertEqual(self.successResultOf(third), b"three")
        self.assertEqual(recorder.received, b"one\r\ntwo\r\nthree\r\n")
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_pendingReadsInOrder(self) -> None:
        """
        Reads asked for before the data arrives fire in the order asked.
        """
        recorder, _ = connected()
        first, second = recorder.readLine(b"\n"), recorder.readLine(b"\n")
        recorder.dataReceived(b"a\nb\n")
        self.assertEqual(self.successResultOf(first), b"a")
        self.assertEqual(self.successResultOf(second), b"b")

    def test_bytesAfterLine(self) -> None:
        """
        C{readBytes} counts from the end of the previous read, and gives
        exactly that many bytes.
        """
        recorder, _ = connected()
        recorder.dataReceived(b"LEN 3\r\nabcdef")
        self.assertEqual(self.successResultOf(recorder.readLine()), b"LEN 3")
        self.assertEqual(self.successResultOf(recorder.readBytes(3)), b"abc")
        self.assertEqual(self.successResultOf(recorder.readBytes(3)), b"def")

    def test_closeFailsRead(self) -> None:
        """
        A read still waiting when the connection closes fails at once with
        L{ClosedWhileWaitingError}, naming what it waited for.
        """
        recorder, clock = connected()
        reading = recorder.readLine()
        recorder.dataReceived(b"partial")
        recorder.connectionLost(Failure(Exception("gone")))
        error = self.failureResultOf(reading, ClosedWhileWaitingError).value
        self.assertIn("a line ending in b'\\r\\n'", str(error))
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_timeout(self) -> None:
        """
        A read past its bound fails with L{WaitTimeoutError}.
        """
        recorder, clock = connected()
        reading = recorder.readBytes(4, timeout=1.0)
        clock.advance(1.0)
        self.failureResultOf(reading, WaitTimeoutError)

    def test_badArguments(self) -> None:
        """
        An empty delimiter or a negative count is refused at once.
        """
        recorder, _ = connected()
        self.assertRaises(ValueError, recorder.readLine, b"")
        self.assertRaises(ValueError, recorder.readBytes, -1)

    def test_send(self) -> None:
        """
        C{send} writes to the transport; before a connection it raises.
        """
        recorder, _ = connected()
        recorder.send(b"hi")
        assert isinstance(recorder.transport, StringTransport)
        self.assertEqual(recorder.transport.value(), b"hi")
        self.assertRaises(RuntimeError, Recorder().send, b"x")


class Lines(Protocol):
    """
    Sends three lines as soon as it is connected.
    """

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"one\r\ntwo\r\nthree\r\n")


class RealReadTests(SynchronousTestCase):
    """
    Consuming reads over real sockets.
    """

    def test_readLines(self) -> None:
        """
        A client reads the server's three lines in turn, however the kernel
        split them.
        """
        seen: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Lines))
            client = await case.connect(port, Recorder())
            for _ in range(3):
                seen.append(await client.readLine())

        result = sample(body, timeout=8.0)

        assertCleanRun(self, result)
        self.assertEqual(seen, [b"one", b"two", b"three"])
