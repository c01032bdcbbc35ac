"""
UDP: a datagram port stopped once, and waited for, at the teardown.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.protocol import DatagramProtocol
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from trialnet import IUDPPort, NetworkTestCase

from ..helpers import (
    assertCleanRun,
    openFiles,
    portNumber,
    sample,
    warmUp,
)


class Datagrams(DatagramProtocol):
    """
    Records datagrams and its own start and stop; echoes if asked.
    """

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.log: list[str] = []
        self.arrived: Deferred[bytes] = Deferred()

    def startProtocol(self) -> None:
        self.log.append("started")

    def stopProtocol(self) -> None:
        self.log.append("stopped")

    def datagramReceived(self, datagram: bytes, address: tuple[str, int]) -> None:
        if self.echo:
            self.transport.write(datagram, address)  # type: ignore[union-attr]
        if not self.arrived.called:
            self.arrived.callback(datagram)


class UDPTests(SynchronousTestCase):
    """
    L{NetworkTestCase.listenUDP} ports.
    """

    def test_roundTrip(self) -> None:
        """
        A datagram goes to an echoing port and back; both ports are stopped
        exactly once by the teardown and no file is left open.
        """
        server, client = Datagrams(echo=True), Datagrams()
        echoed: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUDP(server)
            sender = case.listenUDP(client)
            sender.write(b"ping", ("127.0.0.1", portNumber(port)))
            echoed.append(await client.arrived)

        warmUp()
        before = openFiles()
        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(echoed, [b"ping"])
        self.assertEqual(server.log, ["started", "stopped"])
        self.assertEqual(client.log, ["started", "stopped"])
        self.assertEqual(openFiles() - before, set())

    def test_stoppedTwiceByTheTest(self) -> None:
        """
        A test that stops its UDP port twice gets both Deferreds fired (the
        reactor's port would orphan the first), and the teardown does not
        stop it a third time.
        """
        protocol = Datagrams()
        fired: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUDP(protocol)
            first = maybeDeferred(port.stopListening)
            second = maybeDeferred(port.stopListening)
            first.addCallback(lambda _: fired.append("first"))
            second.addCallback(lambda _: fired.append("second"))
            await second

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(fired, ["first", "second"])
        self.assertEqual(protocol.log, ["started", "stopped"])

    def test_portIsTyped(self) -> None:
        """
        The reactor's UDP port that C{listenUDP} returns has every method of
        L{trialnet.IUDPPort}, the type it is declared with: it listens and
        writes.
        """
        ports: list[object] = []

        def body(case: NetworkTestCase) -> None:
            ports.append(case.listenUDP(Datagrams()))

        result = sample(body)

        assertCleanRun(self, result)
        self.assertTrue(verifyObject(IUDPPort, ports[0], tentative=True))
