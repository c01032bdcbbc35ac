"""
Links in the teardown, run as sample test cases: the relay closes with the
rest, within the bound however bad the link, and the report names the
application's ends and the link they crossed, never the relay.
"""

# ruff: noqa: N999

from __future__ import annotations

import time

from twisted.internet.defer import maybeDeferred
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network, NetworkTestCase, Recorder, RecorderFactory

from ..helpers import (
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    assertPassed,
    openFiles,
    refuses,
    sample,
    socketsInReactor,
    teardownError,
    warmUp,
)
from ..transports import TCP4, TLS, UNIX, StreamTransport


class Paused(LoggingProtocol):
    """
    A server end that stops reading once it read something: under TLS, its
    close waits for the peer's answer, which it never reads.
    """

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        self.transport.pauseProducing()  # type: ignore[union-attr]


class LinkTeardownMixin:
    """
    The teardown of a link, on one stream transport.

    @cvar stuck: A server protocol that cannot close in an orderly way on
        this transport.
    """

    transport: StreamTransport
    stuck: type[LoggingProtocol] = Stuck

    def test_closesEverything(self) -> None:
        """
        A test that used a link, with data in flight under latency, passes
        and leaves no socket, file or timer behind.
        """
        test: SynchronousTestCase = self  # type: ignore[assignment]
        transport = self.transport
        warmUp()
        before = openFiles()

        async def body(case: NetworkTestCase) -> None:
            link = case.link(transport.listen(case, RecorderFactory()))
            client = await case.connect(link, Recorder())
            await case.serverProtocolFor(client)
            link.latency(10)
            client.send(b"in flight")

        assertPassed(test, sample(body))
        test.assertEqual(socketsInReactor(), set())
        test.assertEqual(openFiles() - before, set())

    def test_blackholeWithinBound(self) -> None:
        """
        A blackholed (or held) link with open connections does not keep the
        teardown past its bound: it ends well within C{disconnectTimeout},
        and cleanly.
        """
        test: SynchronousTestCase = self  # type: ignore[assignment]
        transport = self.transport

        async def body(case: NetworkTestCase) -> None:
            for condition in ("blackhole", "hold"):
                link = case.link(transport.listen(case, RecorderFactory()))
                client = await case.connect(link, Recorder())
                await case.serverProtocolFor(client)
                getattr(link, condition)()
                client.send(b"never")

        started = time.monotonic()
        result = sample(body, disconnectTimeout=3.0)
        test.assertLess(time.monotonic() - started, 3.0)
        assertPassed(test, result)
        test.assertEqual(socketsInReactor(), set())

    def test_reportNamesTheLink(self) -> None:
        """
        A server end that had to be aborted is reported as the
        application's, saying which link (and seed) it crossed; the relay is
        not reported.
        """
        test: SynchronousTestCase = self  # type: ignore[assignment]
        transport = self.transport
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            factory = LoggingFactory(events, "server", self.stuck)
            port = transport.listen(case, factory)
            link = case.link(port, seed=4242)
            client = await case.connect(link, Recorder())
            server = await case.serverProtocolFor(client, LoggingProtocol)
            arrived = server.waitForData()
            client.send(b"x")
            await arrived

        result = sample(body, disconnectTimeout=0.5)
        error = teardownError(result)
        test.assertEqual([leftover.role for leftover in error.leftovers], ["server"])
        (leftover,) = error.leftovers
        test.assertIn(self.stuck.__name__, leftover.kind)
        test.assertIn("seed 4242", leftover.via)
        test.assertIn("through link", str(error))
        test.assertEqual(socketsInReactor(), set())

    def test_notUntracked(self) -> None:
        """
        Under strict cleanup, the relay's own port and connections are not
        the code under test's.
        """
        test: SynchronousTestCase = self  # type: ignore[assignment]
        transport = self.transport

        async def body(case: NetworkTestCase) -> None:
            link = case.link(transport.listen(case, RecorderFactory()))
            await case.connect(link, Recorder())

        assertPassed(test, sample(body, strictCleanup=True))


class TCPLinkTeardownTests(LinkTeardownMixin, SynchronousTestCase):
    """
    The teardown of links to TCP ports.
    """

    transport = TCP4()


class UNIXLinkTeardownTests(LinkTeardownMixin, SynchronousTestCase):
    """
    The teardown of links to UNIX ports.
    """

    transport = UNIX()


class TLSLinkTeardownTests(LinkTeardownMixin, SynchronousTestCase):
    """
    The teardown of links to TLS ports, whose close needs the peer's answer
    through the link.
    """

    transport = TLS()
    stuck = Paused


class LinkReportTests(SynchronousTestCase):
    """
    Both ends of a connection through a link are reported as the
    application's.
    """

    def test_bothEnds(self) -> None:
        """
        A stuck client and a stuck server are each named with their own
        class, and each says it crossed the link; nothing else is reported.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server", Stuck))
            link = case.link(port, seed=77)
            client = await case.connect(link, LoggingFactory(events, "client", Stuck))
            await case.serverProtocolFor(client)

        error = teardownError(sample(body, disconnectTimeout=0.5))
        self.assertEqual(
            sorted((leftover.role, leftover.kind) for leftover in error.leftovers),
            [("client", "tests.helpers.Stuck"), ("server", "tests.helpers.Stuck")],
        )
        for leftover in error.leftovers:
            self.assertIn("(seed 77)", leftover.via)
        self.assertEqual(socketsInReactor(), set())


class LinkAfterTeardownTests(SynchronousTestCase):
    """
    After the teardown, a link's address refuses connections.
    """

    def test_portStopped(self) -> None:
        """
        The link's port number is closed once the test is over.
        """
        numbers: list[int] = []

        async def body(case: NetworkTestCase) -> None:
            link = case.link(case.listen(Factory.forProtocol(Protocol)))
            numbers.append(link.getHost().port)  # type: ignore[attr-defined]

        assertPassed(self, sample(body))
        self.assertTrue(refuses(numbers[0]))


class LinkArgumentTests(SynchronousTestCase):
    """
    Bad input to C{link()} is refused before anything is opened.
    """

    def test_refused(self) -> None:
        """
        What is not a listening stream port of this test, or a seed that is
        not an int, raises C{TypeError} or C{ValueError}, and opens nothing.
        """
        warmUp()

        async def body(case: NetworkTestCase) -> None:
            other = Network()
            port = case.listen(Factory.forProtocol(Protocol))
            foreign = other.listen(Factory.forProtocol(Protocol))
            udp = case.listenUDP(DatagramProtocol())
            before = openFiles()
            case.assertRaises(TypeError, case.link, object())
            case.assertRaises(TypeError, case.link, foreign)
            case.assertRaises(TypeError, case.link, port, seed="1")
            case.assertRaises(ValueError, case.link, udp)
            case.assertEqual(openFiles(), before)
            await maybeDeferred(port.stopListening)
            case.assertRaises(ValueError, case.link, port)
            await other.close()

        assertPassed(self, sample(body))

    def test_downRefuses(self) -> None:
        """
        A connect to a link that is down fails with the reactor's
        C{ConnectionRefusedError}.
        """

        async def body(case: NetworkTestCase) -> None:
            link = case.link(case.listen(Factory.forProtocol(Protocol)))
            await link.down()
            with case.assertRaises(ConnectionRefusedError):
                await case.connect(link, Recorder())
            case.assertTrue(refuses(link.getHost().port))  # type: ignore[attr-defined]

        assertPassed(self, sample(body))
