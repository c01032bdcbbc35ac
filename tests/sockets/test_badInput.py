"""
Arguments trialnet cannot use are refused with a clear C{TypeError} or
C{ValueError} before anything is opened, and what was open before keeps
working.
"""

# ruff: noqa: N999

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import DatagramProtocol
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    LoggingProtocol,
    assertPassed,
    lostCounts,
    openFileCount,
    portNumber,
    recorders,
    sample,
    socketsInReactor,
    warmUp,
)


class Datagrams(DatagramProtocol):
    """
    Keeps the datagrams it receives, and fires C{arrived} with the first.
    """

    def __init__(self) -> None:
        self.arrived: Deferred[bytes] = Deferred()

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        if not self.arrived.called:
            self.arrived.callback(datagram)


class RefusedTests(SynchronousTestCase):
    """
    Bad arguments are refused before anything is opened.
    """

    def test_protocolConnectedByReactor(self) -> None:
        """
        C{connect()} given a protocol instance the reactor already connected
        (not through trialnet) raises C{ValueError}, opens nothing, and that
        connection keeps working.
        """
        events = Events()
        serverFactory, _ = recorders(events)
        opened: list[tuple[int, set[object]]] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(serverFactory)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            client = LoggingProtocol(events, "client")
            await connectProtocol(endpoint, client)
            before = (openFileCount(), socketsInReactor())
            case.assertRaises(ValueError, case.connect, port, client)
            opened.append((openFileCount() - before[0], socketsInReactor() - before[1]))
            arrived = client.waitForData()
            client.transport.write(b"still here")  # type: ignore[union-attr]
            case.assertEqual(await arrived, b"still here")
            client.transport.loseConnection()  # type: ignore[union-attr]
            await client.lost

        assertPassed(self, sample(body, timeout=10))
        self.assertEqual(opened, [(0, set())])
        self.assertEqual(lostCounts(events), (1, 1))

    def test_secondListenUDPOfOneProtocol(self) -> None:
        """
        A second C{listenUDP()} of the protocol instance of a port already
        listening raises C{ValueError} (not a bare C{AssertionError}), opens
        nothing, and the first port still receives and is closed at the
        teardown.
        """
        opened: list[int] = []
        received: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            protocol = Datagrams()
            port = case.listenUDP(protocol)
            before = openFileCount()
            case.assertRaises(ValueError, case.listenUDP, protocol)
            opened.append(openFileCount() - before)
            sender = case.listenUDP(DatagramProtocol())
            sender.write(b"ping", ("127.0.0.1", portNumber(port)))
            received.append(await protocol.arrived)

        warmUp()
        files = openFileCount()
        assertPassed(self, sample(body, timeout=10))
        self.assertEqual((opened, received), ([0], [b"ping"]))
        self.assertEqual(openFileCount(), files)
