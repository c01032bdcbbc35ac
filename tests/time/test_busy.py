"""
What keeps virtual time from jumping, on real loopback sockets: a thread at
work, a call from a thread, output not yet written, a connection to one of
the process's ports not yet accepted, a peer outside the process (within
the stall allowance); and what does not: a server end accepted and paused.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import Any

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from trialnet import NetworkTestCase, Recorder
from trialnet._time._busy import _address, _serverEnds, _tcpInfo, busy

from ..helpers import assertPassed, sample


class Selectable:
    """
    A reactor's reader, as far as the check reads it: its socket.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock


class Paused(Protocol):
    """
    A server end that stops reading as soon as it is connected.
    """

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.pauseProducing()  # type: ignore[attr-defined]


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

    def test_pausedServerEndIsIdle(self) -> None:
        """
        A connection whose server end was accepted and is paused (not among
        the readers, back-pressure) is not busy, within the stall allowance
        or after it: the kernel says the server end was accepted.
        """
        server, client = self.sockets()
        accepted, _ = server.accept()
        self.addCleanup(accepted.close)
        reactor = FakeReactor(readers=[Selectable(server), Selectable(client)])
        self.assertIsNone(busy(reactor, 0.5, 1.0))
        self.assertIsNone(busy(reactor, 5.0, 1.0))

    def test_queuedBehindAcceptedIsBusy(self) -> None:
        """
        Of two connections to a listening socket that is a reader, one
        accepted and paused and one still in the accept queue: busy.
        """
        server, client = self.sockets()
        accepted, _ = server.accept()
        self.addCleanup(accepted.close)
        queued = socket.create_connection(server.getsockname())
        self.addCleanup(queued.close)
        readers = [Selectable(server), Selectable(client), Selectable(queued)]
        self.assertIn("not yet accepted", busy(FakeReactor(readers), 5.0, 1.0) or "")

    def test_portNotReading(self) -> None:
        """
        A connection queued on a listening socket that is not a reader (a
        port that stopped reading) waits on the application, not on the
        kernel: like a peer the process cannot see into, it is busy only
        within the stall allowance.
        """
        _, client = self.sockets()
        reactor = FakeReactor(readers=[Selectable(client)])
        self.assertIn("outside", busy(reactor, 0.5, 1.0) or "")
        self.assertIsNone(busy(reactor, 5.0, 1.0))

    def test_wildcardListeningPort(self) -> None:
        """
        A listening socket bound to every interface is the peer of a client
        connected to the loopback: its queued connection is busy, and once
        accepted and paused it is not.
        """
        server = socket.socket()
        self.addCleanup(server.close)
        server.bind(("0.0.0.0", 0))
        server.listen(5)
        client = socket.create_connection(("127.0.0.1", server.getsockname()[1]))
        self.addCleanup(client.close)
        readers = [Selectable(server), Selectable(client)]
        self.assertIsNotNone(busy(FakeReactor(readers), 5.0, 1.0))
        accepted, _ = server.accept()
        self.addCleanup(accepted.close)
        self.assertIsNone(busy(FakeReactor(readers), 0.5, 1.0))

    def test_unsentWithinStall(self) -> None:
        """
        Bytes the kernel holds unsent (here, the peer stopped reading and
        its window closed) are busy within the stall allowance after the
        last I/O, and not after it.
        """
        server, client = self.sockets()
        accepted, _ = server.accept()
        self.addCleanup(accepted.close)
        client.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                client.send(b"x" * 65536)
        # The probes of the closed window settle within moments.
        deadline = time.monotonic() + 5
        while _tcpInfo(client)[1] and time.monotonic() < deadline:
            time.sleep(0.01)
        state, unacked, unsent = _tcpInfo(client)
        if state is None:
            raise SkipTest("no TCP_INFO here")
        self.assertEqual((unacked, bool(unsent)), (0, True))
        reactor = FakeReactor(readers=[Selectable(client), Selectable(accepted)])
        self.assertIn("not yet sent", busy(reactor, 0.5, 1.0) or "")
        self.assertIsNone(busy(reactor, 5.0, 1.0))

    def test_serverEndsFromProc(self) -> None:
        """
        Linux's list of TCP sockets shows a queued server end with inode 0
        and, once accepted, with the accepted socket's inode.
        """
        server, client = self.sockets()
        here, there = _address(client.getsockname()), _address(server.getsockname())
        ends = _serverEnds({server.getsockname()[1]})
        if ends is None:
            raise SkipTest("/proc/net/tcp cannot be read here")
        self.assertEqual(ends[there, here], ("01", 0))
        accepted, _ = server.accept()
        self.addCleanup(accepted.close)
        ends = _serverEnds({server.getsockname()[1]})
        assert ends is not None
        self.assertEqual(ends[there, here][1], os.fstat(accepted.fileno()).st_ino)


class PausedServerEndTests(SynchronousTestCase):
    """
    Virtual time with a paused server end, on the real reactor.
    """

    def test_pausedServerEndJumps(self) -> None:
        """
        A minute of C{deferLater} passes at once while the server end of the
        test's connection is paused (back-pressure).
        """
        seen: list[float] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            await case.connect(case.listen(Factory.forProtocol(Paused)), Recorder())
            before, real = reactor.seconds(), time.monotonic()
            await deferLater(reactor, 60, lambda: None)
            seen.extend([reactor.seconds() - before, time.monotonic() - real])

        assertPassed(self, sample(body, virtualTime=True, timeout=20))
        virtualSeconds, realSeconds = seen
        self.assertGreaterEqual(virtualSeconds, 60)
        self.assertLess(realSeconds, 10)
