"""
Waits fail fast: an error logged while a wait is pending (a protocol that
raised, which the reactor logs) fails the wait at once with that error,
instead of at its bound.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.python import log
from twisted.trial.unittest import SynchronousTestCase, TestCase

from trialnet import Network, NetworkTestCase, Recorder, WaitTimeoutError
from trialnet._waits import _failfast

from ..helpers import assertPassed, errorTypes, runSample, sample

#: Long enough that a wait which ran to its bound fails the "does not hang"
#: check below: a fast failure took well under it.
LONG_BOUND = 20.0


async def _readLineOfBrokenServer(
    case: NetworkTestCase, port: Any, errors: list[BaseException]
) -> None:
    """
    Connect to C{port} (whose protocol logs an error once it has read a
    line), send a line, and wait half a second for one back: keep the wait's
    L{WaitTimeoutError} in C{errors}, then flush the logged error.
    """
    client = await case.connect(port, Recorder())
    client.send(b"hello\r\n")
    try:
        await client.readLine(timeout=0.5)
    except WaitTimeoutError as error:
        errors.append(error)
    case.flushLoggedErrors(BrokenError)


class BrokenError(Exception):
    """
    What the sample protocols raise.
    """


class RaisesLater(Protocol):
    """
    Raises from a timer after it receives data, keeping its connection open:
    the reactor logs the error, and nothing else tells the other side.
    """

    def dataReceived(self, data: bytes) -> None:
        reactor.callLater(0, self.boom)

    def boom(self) -> None:
        raise BrokenError("the server broke")


class RaisesOnBuild(Factory):
    """
    A factory whose every protocol fails to build: the reactor logs it and
    closes the accepted socket, so no server end ever appears.
    """

    noisy = False

    def buildProtocol(self, addr: object) -> Protocol:
        raise BrokenError("no protocol for you")


class FailFastTests(SynchronousTestCase):
    def tearDown(self) -> None:
        # Nothing stays watched after a sample: every wait ended.
        self.assertEqual(_failfast._watched, {})

    def test_recorderWait(self) -> None:
        """
        A L{Recorder} waiting for a line fails with the error the server's
        code raised, at once, not with a timeout at its bound.
        """
        outcomes: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(RaisesLater))
            client = await case.connect(port, Recorder())
            client.send(b"hello\r\n")
            started = time.monotonic()
            try:
                await client.readLine(timeout=LONG_BOUND)
            except BrokenError as error:
                outcomes.append(error)
            outcomes.append(time.monotonic() - started)
            case.flushLoggedErrors(BrokenError)

        result = sample(body)

        assertPassed(self, result)
        error, waited = outcomes
        self.assertIsInstance(error, BrokenError)
        assert isinstance(waited, float)
        self.assertLess(waited, LONG_BOUND / 2)

    def test_networkWait(self) -> None:
        """
        C{acceptedProtocol}, pending while a client connects to a port whose
        factory cannot build a protocol, fails with the factory's error.
        """
        errors: list[BaseException] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(RaisesOnBuild())
            accepted = case.acceptedProtocol(port)
            # The client may connect, or see its connection closed first:
            # either way, it is the server's wait this test is about.
            connecting = case.connect(port, Recorder())
            connecting.addErrback(lambda failure: None)
            try:
                await accepted
            except BrokenError as error:
                errors.append(error)
            await connecting
            case.flushLoggedErrors(BrokenError)

        result = sample(body, timeout=LONG_BOUND)

        assertPassed(self, result)
        self.assertEqual([type(error) for error in errors], [BrokenError])

    def test_turnedOff(self) -> None:
        """
        With C{failFast} off, for a test that expects an error to be logged,
        the wait goes on to its bound (or to what it waits for).
        """
        errors: list[BaseException] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(RaisesLater))
            await _readLineOfBrokenServer(case, port, errors)

        result = sample(body, failFast=False)

        assertPassed(self, result)
        self.assertEqual([type(error) for error in errors], [WaitTimeoutError])

    def test_turnedOffInSetUp(self) -> None:
        """
        C{failFast} set on the test in C{setUp} (after the test's network
        was made) applies to the waits of the test.
        """
        errors: list[BaseException] = []

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                self.failFast = False

            async def wait(self) -> None:
                port = self.listen(Factory.forProtocol(RaisesLater))
                await _readLineOfBrokenServer(self, port, errors)

            def test_it(self) -> Deferred[None]:
                return Deferred.fromCoroutine(self.wait())

        result = runSample(Sample)

        assertPassed(self, result)
        self.assertEqual([type(error) for error in errors], [WaitTimeoutError])

    def test_turnedOffAfterFirstUse(self) -> None:
        """
        C{failFast} set on the test after its network served a first call
        (a C{listen}) applies to the waits that follow.
        """
        errors: list[BaseException] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(RaisesLater))
            case.failFast = False
            await _readLineOfBrokenServer(case, port, errors)

        assertPassed(self, sample(body))
        self.assertEqual([type(error) for error in errors], [WaitTimeoutError])

    def test_endedWaitIsLeftAlone(self) -> None:
        """
        An error logged after a wait ended does not touch it: the line that
        arrived is still what the wait gave.
        """
        lines: list[bytes] = []

        class LineThenBreak(Protocol):
            def dataReceived(self, data: bytes) -> None:
                assert self.transport is not None
                self.transport.write(b"hi\r\n")
                reactor.callLater(0.05, RaisesLater.boom, self)

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(LineThenBreak))
            client = await case.connect(port, Recorder())
            client.send(b"hello\r\n")
            lines.append(await client.readLine())
            await client.waitForBytes(1000, timeout=0.5)

        result = sample(body)

        # The second wait failed with the error (not a timeout); the first
        # gave its line.
        self.assertEqual(lines, [b"hi"])
        self.assertEqual(errorTypes(result), [BrokenError, BrokenError])


class AfterFailingFastTests(SynchronousTestCase):
    """
    A wait that failed fast leaves the pairing as if it had never been made.
    """

    def test_acceptedAfterFailure(self) -> None:
        """
        The next connection to a port whose C{acceptedProtocol} wait failed
        fast goes to the next wait, not to the failed one.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Recorder))
            first = case.acceptedProtocol(port)
            log.err(BrokenError("unrelated"), "logged while waiting")
            try:
                await first
            except BrokenError as error:
                seen.append(error)
            case.flushLoggedErrors(BrokenError)
            client = await case.connect(port, Recorder())
            accepted = await case.acceptedProtocol(port, Recorder)
            client.send(b"hi")
            seen.append(await accepted.readBytes(2) == b"hi")

        result = sample(body, timeout=10)

        assertPassed(self, result)
        self.assertEqual([type(seen[0]), seen[1]], [BrokenError, True])


class PlainNetworkTests(TestCase):
    """
    Failing fast does not change how a plain L{Network} (the pytest
    fixture's) gives up a wait nobody awaits.
    """

    async def test_unawaitedWaitGivenUpQuietly(self) -> None:
        """
        A C{serverProtocolFor} wait nobody awaits, pending when the network
        closes, is cancelled quietly: no unhandled error later.
        """
        network = Network()
        port = network.listen(Factory.forProtocol(Recorder))
        network.acceptedProtocol(port)
        await network.close()
        gc.collect()
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertEqual(_failfast._watched, {})
