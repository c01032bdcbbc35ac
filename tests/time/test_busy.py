"""
What keeps virtual time from jumping, on real loopback sockets: a thread at
work, a call from a thread, output not yet written, a connection to one of
the process's ports not yet accepted, a peer outside the process (within
the stall allowance).
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from trialnet._time._busy import busy


class Selectable:
    """
    A reactor's reader, as far as the check reads it: its socket.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock


class FakeReactor:
    """
    The parts of a reactor the check reads.
    """

    def __init__(self, readers: list[Any] = [], writers: list[Any] = []) -> None:  # noqa: B006
        self.threadCallQueue: list[object] = []
        self.threadpool = None
        self._readers = readers
        self._writers = writers

    def getReaders(self) -> list[Any]:
        return list(self._readers)

    def getWriters(self) -> list[Any]:
        return list(self._writers)


class BusyTests(SynchronousTestCase):
    """
    L{busy}.
    """

    def sockets(self) -> tuple[socket.socket, socket.socket]:
        """
        A listening socket and a client connected to it, not yet accepted.
        """
        server = socket.socket()
        self.addCleanup(server.close)
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        client = socket.create_connection(server.getsockname())
        self.addCleanup(client.close)
        return server, client

    def test_idle(self) -> None:
        """
        Nothing at all: not busy.
        """
        self.assertIsNone(busy(FakeReactor(), 0.0, 1.0))

    def test_threadCall(self) -> None:
        """
        A call from a thread queued for the reactor: busy.
        """
        reactor = FakeReactor()
        reactor.threadCallQueue.append(object())
        self.assertIsNotNone(busy(reactor, 5.0, 1.0))

    def test_writer(self) -> None:
        """
        A transport with output to write (or a connect in progress): busy.
        """
        self.assertIsNotNone(busy(FakeReactor(writers=[object()]), 5.0, 1.0))

    def test_notYetAccepted(self) -> None:
        """
        A client connected to one of the process's listening sockets, whose
        server end is not accepted yet: busy, however long since the last
        I/O (the kernel retries a dropped handshake a second later).
        """
        server, client = self.sockets()
        reactor = FakeReactor(readers=[Selectable(server), Selectable(client)])
        self.assertIn("not yet accepted", busy(reactor, 5.0, 1.0) or "")

    def test_accepted(self) -> None:
        """
        Both ends of a connection in the process, nothing in flight: idle.
        """
        server, client = self.sockets()
        accepted, _ = server.accept()
        self.addCleanup(accepted.close)
        readers = [Selectable(server), Selectable(client), Selectable(accepted)]
        self.assertIsNone(busy(FakeReactor(readers=readers), 5.0, 1.0))

    def test_peerOutsideWithinStall(self) -> None:
        """
        A connection whose peer is outside the process counts as busy only
        within the stall allowance after the last I/O.
        """
        server, _ = self.sockets()
        accepted, _ = server.accept()
        self.addCleanup(accepted.close)
        reactor = FakeReactor(readers=[Selectable(accepted)])
        self.assertIn("outside", busy(reactor, 0.5, 1.0) or "")
        self.assertIsNone(busy(reactor, 1.5, 1.0))
