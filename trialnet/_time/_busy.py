# -*- test-case-name: tests.time.test_busy -*-
"""
What must happen before virtual time may jump: whether something could
still happen without time passing, though no I/O event was dispatched in the
last polls.  Some of it the process sees (a thread at work, output not yet
written), some the kernel knows (a connect in progress, bytes not yet
acknowledged or not yet sent, a connection not yet accepted), and some
neither (a child process at work, a peer in another process): those count
only for a real stall allowance after the last I/O.
"""

from __future__ import annotations

import socket
import struct
import sys
from typing import Any

#: The kernel's TCP states (include/net/tcp_states.h) in which a connection
#: is still being made.
_CONNECTING = (2, 3)  # SYN_SENT, SYN_RECV

#: A listening socket's state.
_LISTEN = 10

#: Where Linux's struct tcp_info keeps the number of segments sent and not
#: yet acknowledged, and the bytes written and not yet sent.
_UNACKED = struct.Struct("I")
_UNACKED_AT = 24
_NOTSENT_AT = 144

#: The option, where the platform has it (Linux).
_TCP_INFO: int | None = getattr(socket, "TCP_INFO", None)
_INFO_SIZE = 232


def busy(reactor: Any, quiet: float, stall: float) -> str | None:
    """
    Whether something could still happen on C{reactor} without time passing.

    @param quiet: Real seconds since the last I/O event was dispatched.
    @param stall: Real seconds after the last I/O event during which what
        the process cannot see into (a child process, a peer in another
        process, a kernel's own timer) counts as busy.
    @return: What is busy, for the livelock report and the tests, or C{None}
        when nothing is.
    """
    if getattr(reactor, "threadCallQueue", None):
        return "a call from a thread is queued"
    if _poolWorking(getattr(reactor, "threadpool", None)):
        return "the reactor's thread pool is at work"
    writers = reactor.getWriters()
    if writers:
        # Output not yet written, or a connect in progress.
        return "a transport has output to write or is connecting"
    withinStall = quiet < stall
    if withinStall and _liveChildren():
        return "a child process is alive"
    return _kernelBusy(reactor.getReaders(), withinStall)


def _poolWorking(pool: Any) -> bool:
    if pool is None or not getattr(pool, "started", False):
        return False
    team = getattr(pool, "_team", None)
    if team is None:
        return False
    statistics = team.statistics()
    return bool(statistics.busyWorkerCount or statistics.backloggedWorkCount)


def _liveChildren() -> bool:
    process = sys.modules.get("twisted.internet.process")
    return bool(getattr(process, "reapProcessHandlers", None))


def _kernelBusy(readers: list[Any], withinStall: bool) -> str | None:
    """
    What the kernel says of the process's TCP sockets: a connect in progress
    or bytes not yet acknowledged (always busy); bytes not yet sent (Nagle,
    a delayed acknowledgement), a connection to one of the process's own
    listening ports not yet accepted (the kernel retries a handshake it
    dropped when the accept queue was full), or a peer outside the process
    (busy within the stall allowance).
    """
    listening: set[tuple[Any, ...]] = set()
    listeningPorts: set[int] = set()
    connected: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    for reader in readers:
        sock = getattr(reader, "socket", None)
        if not isinstance(sock, socket.socket):
            continue
        if sock.type != socket.SOCK_STREAM or sock.family not in (
            socket.AF_INET,
            socket.AF_INET6,
        ):
            continue
        try:
            state, unacked, notsent = _tcpInfo(sock)
            local = sock.getsockname()[:2]
            if state == _LISTEN:
                listening.add(local)
                listeningPorts.add(local[1])
                continue
            peer = sock.getpeername()[:2]
        except OSError:
            continue
        if state in _CONNECTING:
            return "a TCP connect is in progress"
        if unacked:
            return "TCP bytes are not yet acknowledged"
        if notsent and withinStall:
            return "TCP bytes are not yet sent"
        if state is None and withinStall:
            # No TCP_INFO here: the kernel cannot be asked.
            return "a TCP connection the kernel cannot be asked about"
        connected.append((local, peer))
    # A connection is paired when the process holds its other end too.
    pairs = set(connected)
    for local, peer in connected:
        if (peer, local) in pairs:
            continue
        if peer in listening or peer[1] in listeningPorts:
            # One of our own ports' connections, not yet accepted: always
            # busy (the kernel's retry of the handshake comes a second on).
            return "a connection to a port of this process is not yet accepted"
        if withinStall:
            return "a TCP peer outside this process"
    return None


def _tcpInfo(sock: socket.socket) -> tuple[int | None, int, int]:
    """
    A TCP socket's state, unacknowledged segments and unsent bytes, from
    Linux's C{TCP_INFO}; C{(None, 0, 0)} where the platform has none.
    """
    if _TCP_INFO is None:
        return None, 0, 0
    info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _INFO_SIZE)
    state = info[0]
    unacked = _UNACKED.unpack_from(info, _UNACKED_AT)[0]
    notsent = (
        _UNACKED.unpack_from(info, _NOTSENT_AT)[0]
        if len(info) >= _NOTSENT_AT + 4
        else 0
    )
    if state == _LISTEN:
        # A listening socket's "unacked" is its accept queue's length:
        # readable, and so seen by the poll.
        unacked = 0
    return state, unacked, notsent
