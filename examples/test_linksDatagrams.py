"""
A DNS-style client over UDP, tested through a datagram link that loses half
of the datagrams.
"""

# ruff: noqa: N999

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import DatagramProtocol

from trialnet import NetworkTestCase

# udp-start


class Answers(DatagramProtocol):
    """
    Answers C{Q <id> <name>} with C{A <id> 192.0.2.1}.
    """

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        _, queryId, _ = datagram.split()
        assert self.transport is not None
        self.transport.write(b"A " + queryId + b" 192.0.2.1", addr)


class Resolver(DatagramProtocol):
    """
    Asks one question, and asks again every 50 ms until it is answered.
    """

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.attempts = 0
        self.answer: Deferred[bytes] = Deferred()
        self._retry: IDelayedCall | None = None

    def ask(self, name: bytes) -> Deferred[bytes]:
        self.attempts += 1
        assert self.transport is not None
        self.transport.write(b"Q 7 " + name, self.server)
        self._retry = reactor.callLater(0.05, self.ask, name)
        return self.answer

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        if not self.answer.called:
            self.answer.callback(datagram.split()[2])

    def stopProtocol(self) -> None:
        if self._retry is not None and self._retry.active():
            self._retry.cancel()


class RetryTests(NetworkTestCase):
    """
    A client that retries, over a network that drops half of the datagrams.
    """

    async def test_answeredDespiteLoss(self) -> None:
        """
        The answer comes, after retries: with this seed, the first
        questions are lost.
        """
        link = self.datagramLink(self.listenUDP(Answers()), seed=3)
        link.drop(0.5)
        address = link.getHost()
        assert isinstance(address, IPv4Address)
        resolver = Resolver((address.host, address.port))
        self.listenUDP(resolver)
        self.assertEqual(await resolver.ask(b"example.com"), b"192.0.2.1")
        self.assertGreater(resolver.attempts, 1)


# udp-end
