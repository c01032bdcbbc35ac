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

import ipaddress
import os
import socket
import struct
import sys
import weakref
from typing import Any

#: The kernel's TCP states (include/net/tcp_states.h) in which a connection
#: is still being made.
_CONNECTING = (2, 3)  # SYN_SENT, SYN_RECV

#: A listening socket's state.
_LISTEN = 10

#: The states, in /proc/net/tcp, of a server end the kernel has not handed
#: to accept() yet: queued (ESTABLISHED) or half-open (SYN_RECV, when the
#: accept queue was full and the kernel will retry the handshake).
_UNACCEPTED = ("01", "03")

#: Where Linux lists the TCP sockets of the process's network namespace.
_PROC_TCP = ("/proc/net/tcp", "/proc/net/tcp6")

#: An address, normalised: an IPv4-mapped IPv6 host is the IPv4 host.
_Address = tuple["ipaddress.IPv4Address | ipaddress.IPv6Address", int]

#: The inode of each client end's server end, once the kernel said it was
#: accepted: an accepted connection stays accepted, so /proc (a read of the
#: whole table, milliseconds) is asked once per connection.
_accepted: weakref.WeakKeyDictionary[
    socket.socket, tuple[tuple[Any, ...], tuple[Any, ...], int]
] = weakref.WeakKeyDictionary()

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
    listening: list[_Address] = []
    connected: list[tuple[socket.socket, tuple[Any, ...], tuple[Any, ...]]] = []
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
                if unacked:
                    # A listening socket's "unacked" is its accept queue's
                    # length: a reader's queue is readable, and the next
                    # poll accepts it.
                    return (
                        "a connection to a port of this process is not yet "
                        "accepted: it waits in the accept queue"
                    )
                listening.append(_address(local))
                continue
            peer = sock.getpeername()[:2]
        except (OSError, ValueError):
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
        connected.append((sock, local, peer))
    # A connection is paired when the process holds its other end too.
    pairs = {(local, peer) for _, local, peer in connected}
    unpaired = [end for end in connected if (end[2], end[1]) not in pairs]
    if not unpaired:
        # The common case, without a look at /proc.
        return None
    ours = [end for end in unpaired if _listenedOn(_address(end[2]), listening)]
    if ours:
        # The other end of a connection to one of the process's own ports is
        # not among the readers: either the kernel has not handed it to
        # accept() yet (always busy: its retry of a dropped handshake comes
        # a second on), or it was accepted and is paused (back-pressure), or
        # accepted by another process.  Only the kernel knows which.
        inodes = _serverInodes(ours)
        if isinstance(inodes, str):
            return inodes
        if withinStall and not inodes <= _ownSockets():
            return "a TCP peer outside this process"
    if withinStall and len(ours) < len(unpaired):
        return "a TCP peer outside this process"
    return None


def _serverInodes(
    clients: list[tuple[socket.socket, tuple[Any, ...], tuple[Any, ...]]],
) -> set[int] | str:
    """
    The inodes of the accepted server ends of C{clients}, connections to
    the process's own listening ports; or, if one is not accepted yet (or
    /proc cannot tell), what is busy.
    """
    inodes: set[int] = set()
    unknown = []
    for sock, local, peer in clients:
        known = _accepted.get(sock)
        if known is not None and known[:2] == (local, peer):
            inodes.add(known[2])
        else:
            unknown.append((sock, local, peer))
    if not unknown:
        return inodes
    serverEnds = _serverEnds({_address(peer)[1] for _, _, peer in unknown})
    for sock, local, peer in unknown:
        serverEnd = (
            None
            if serverEnds is None
            else serverEnds.get((_address(peer), _address(local)))
        )
        if serverEnd is None:
            # /proc cannot be read (or lists no such socket): the
            # conservative answer.
            return "a connection to a port of this process is not yet accepted"
        state, inode = serverEnd
        if inode:
            _accepted[sock] = (local, peer, inode)
            inodes.add(inode)
        elif state in _UNACCEPTED:
            return "a connection to a port of this process is not yet accepted"
        # Otherwise closed by the server (FIN_WAIT, TIME_WAIT): the client
        # end is readable, and the poll sees that.
    return inodes


def _address(address: tuple[Any, ...]) -> _Address:
    """
    A socket address's host and port, an IPv4-mapped IPv6 host as IPv4.
    """
    host = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
    if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
        return host.ipv4_mapped, int(address[1])
    return host, int(address[1])


def _listenedOn(peer: _Address, listening: list[_Address]) -> bool:
    """
    Whether C{peer} is the address of one of the C{listening} sockets: the
    same host and port, or the same port on a wildcard host.
    """
    for host, port in listening:
        if port == peer[1] and (host == peer[0] or host.is_unspecified):
            return True
    return False


def _serverEnds(
    ports: set[int],
) -> dict[tuple[_Address, _Address], tuple[str, int]] | None:
    """
    Linux's list of the TCP sockets on C{ports}: each one's state (two hex
    digits) and inode (0 for a connection not handed to accept() yet, or
    closed), by its local and remote address; C{None} where it cannot be
    read.
    """
    wanted = {f":{port:04X}" for port in ports}
    ends: dict[tuple[_Address, _Address], tuple[str, int]] = {}
    read = False
    for path in _PROC_TCP:
        try:
            with open(path) as table:
                lines = table.readlines()[1:]
        except OSError:
            continue
        read = True
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[1][-5:] not in wanted:
                continue
            try:
                local = _procAddress(fields[1])
                remote = _procAddress(fields[2])
                ends[local, remote] = (fields[3], int(fields[9]))
            except (IndexError, ValueError):
                continue
    return ends if read else None


def _procAddress(field: str) -> _Address:
    """
    An address as /proc/net/tcp writes it: the host's 32-bit words in hex,
    each in the machine's byte order, a colon, the port in hex.
    """
    host, port = field.split(":")
    words = bytes.fromhex(host)
    packed = b"".join(
        struct.pack("=I", int.from_bytes(words[i : i + 4], "big"))
        for i in range(0, len(words), 4)
    )
    return _address((socket.inet_ntop(_FAMILIES[len(packed)], packed), int(port, 16)))


_FAMILIES = {4: socket.AF_INET, 16: socket.AF_INET6}


def _ownSockets() -> set[int]:
    """
    The inodes of the sockets this process holds open.
    """
    inodes: set[int] = set()
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcpInfo(sock: socket.socket) -> tuple[int | None, int, int]:
    """
    A TCP socket's state, unacknowledged segments (a listening socket's
    accept queue) and unsent bytes, from Linux's C{TCP_INFO}; C{(None, 0,
    0)} where the platform has none.
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
    return state, unacked, notsent
