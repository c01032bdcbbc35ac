"""
A UDP echo server tested over loopback: both datagram ports stop, once, and
are waited for after the test.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import DeferredQueue
from twisted.internet.protocol import DatagramProtocol

from trialnet import NetworkTestCase


class EchoDatagrams(DatagramProtocol):
    """
    Sends every datagram back to where it came from.
    """

    def datagramReceived(self, datagram: bytes, address: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.write(datagram, address)


class Inbox(DatagramProtocol):
    """
    Queues the datagrams it receives.

    @ivar arrived: The datagrams, in the order they arrived.
    """

    def __init__(self) -> None:
        self.arrived: DeferredQueue[bytes] = DeferredQueue()

    def datagramReceived(self, datagram: bytes, address: tuple[str, int]) -> None:
        self.arrived.put(datagram)


class UDPTests(NetworkTestCase):
    """
    L{EchoDatagrams} answers datagrams.
    """

    async def test_echo(self) -> None:
        """
        A datagram sent to the server comes back to the sender's port.
        """
        from twisted.internet import reactor

        server = self.listenUDP(EchoDatagrams()).getHost()
        assert isinstance(server, IPv4Address)
        inbox = Inbox()
        self.listenUDP(inbox)
        assert inbox.transport is not None
        inbox.transport.write(b"ping", (server.host, server.port))
        # Loopback does not lose datagrams, but a wait should not hang.
        self.assertEqual(await inbox.arrived.get().addTimeout(5, reactor), b"ping")
