# -*- test-case-name: tests.sockets.test_pairing,tests.sockets.test_expected -*-
"""
Pairing: which server end is the other end of a client, and which server
ends a port accepted that nobody asked for yet.

TCP and TLS ends are paired by address: a client's local address is its
server end's peer.  UNIX sockets are unnamed, so their ends are paired by
order instead: a port accepts connections in the order the kernel queued
them, which is the order their clients connected, and each end is counted
when its protocol is built (also when none comes of it), per socket path.
"""

from __future__ import annotations

from collections import deque
from types import MappingProxyType
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IProtocol

from .._core._record import fireAll
from ._addresses import AddressKey
from ._clients import cancelQuietly
from ._ends import End

_P = TypeVar("_P", bound=IProtocol)


#: What the containers that most tests never fill start as, until the first
#: entry (as in the registry): read like an empty one, and one container
#: fewer to make for every test (written to, it raises rather than be
#: shared).
_NONE_YET: Any = MappingProxyType({})


class Pairing:
    """
    The ends of one network's connections, for
    L{trialnet.INetworkWaits.serverProtocolFor} and
    L{trialnet.INetworkWaits.acceptedProtocol}.

    @ivar dropAwaited: Whether the teardown drops the waiters something still
        awaits rather than cancel them (see L{releaseWaiter}).
    """

    def __init__(self) -> None:
        self.dropAwaited = False
        self._serversByPeer: dict[AddressKey, End] = {}
        self._serverWaiters: dict[AddressKey, list[Deferred[Any]]] = {}
        self._unclaimed: dict[object, deque[End]] = {}
        # Shaped for speed (a pairing for every test): these four are made
        # at their first entry (see _NONE_YET).
        self._acceptWaiters: dict[object, deque[Deferred[Any]]] = _NONE_YET
        self._counts: dict[tuple[str, str], int] = _NONE_YET
        self._aliases: dict[AddressKey, AddressKey] = _NONE_YET
        # The waiters that asked for the outermost protocol (unwrap=False):
        # chosen when fired, for a callback on a waiter would make it look
        # awaited (see releaseWaiter).
        self._outermost: set[Deferred[Any]] = _NONE_YET

    def nextKey(self, role: str, path: str) -> AddressKey:
        """
        Count one more connection of a UNIX socket path, on one side.
        """
        if self._counts is _NONE_YET:
            self._counts = {}
        count = self._counts.get((role, path), 0) + 1
        self._counts[role, path] = count
        return ("unix", path, count)

    def endMade(self, end: End) -> None:
        """
        An end connected: give a UNIX end its pairing key, and hand a server
        end to whoever waits for it.
        """
        if end.pairKey is not None:
            if end.role == "server":
                end.peerKey = end.pairKey
            else:
                end.hostKey = end.pairKey
        if end.role != "server":
            return
        port = end.port
        # Shaped for speed (it runs for every server end): no empty deque
        # or list is made for a lookup that finds nothing, as it mostly
        # does.
        waiters = self._acceptWaiters.get(port)
        # A waiter failed already (fast, on a logged error) hands out
        # nothing: the end goes to the next one, or waits unclaimed.
        while waiters and waiters[0].called:
            waiters.popleft()
        if waiters:
            end.claimed = True
            self._give([waiters.popleft()], end)
        else:
            unclaimed = self._unclaimed.get(port)
            if unclaimed is None:
                unclaimed = self._unclaimed[port] = deque()
            unclaimed.append(end)
        key = end.peerKey
        if key is None:
            return
        self._serversByPeer[key] = end
        waiting = self._serverWaiters.pop(key, None)
        if waiting:
            waiting = [w for w in waiting if not w.called]
            if waiting:
                end.claimed = True
                self._give(waiting, end)

    def serverFor(self, client: End, unwrap: bool = True) -> Deferred[Any] | None:
        """
        @param unwrap: Whether to give the application's protocol, or the
            outermost one of its connection (see L{End.outermost}).
        @return: A L{Deferred} for the server end of C{client}, or C{None}
            when the client's own address is unknown.
        """
        key = client.hostKey
        if key is None:
            return None
        key = self._aliases.get(key, key)
        server = self._serversByPeer.get(key)
        if server is not None and server.application is not None:
            server.claimed = True
            return succeed(server.application if unwrap else server.outermost)
        waiter = self._waiter(unwrap)
        self._serverWaiters.setdefault(key, []).append(waiter)
        return waiter

    def alias(self, client: AddressKey, server: AddressKey) -> None:
        """
        A relay (a link) connected the client whose address is C{client} to
        a port, as a client whose address is C{server}: the client's server
        end is the one whose peer is C{server}.
        """
        if self._aliases is _NONE_YET:
            self._aliases = {}
        self._aliases[client] = server
        waiting = self._serverWaiters.pop(client, [])
        if not waiting:
            return
        known = self._serversByPeer.get(server)
        if known is not None and known.application is not None:
            known.claimed = True
            self._give(waiting, known)
        else:
            self._serverWaiters.setdefault(server, []).extend(waiting)

    def accepted(self, port: object, unwrap: bool = True) -> Deferred[Any]:
        """
        @param unwrap: As for L{serverFor}.
        @return: A L{Deferred} for the oldest server end of C{port} not yet
            handed out.
        """
        unclaimed = self._unclaimed.get(port)
        while unclaimed:
            end = unclaimed.popleft()
            if not end.claimed and end.application is not None:
                end.claimed = True
                return succeed(end.application if unwrap else end.outermost)
        waiter = self._waiter(unwrap)
        if self._acceptWaiters is _NONE_YET:
            self._acceptWaiters = {}
        self._acceptWaiters.setdefault(port, deque()).append(waiter)
        return waiter

    def _waiter(self, unwrap: bool) -> Deferred[Any]:
        waiter: Deferred[Any] = Deferred()
        if not unwrap:
            if self._outermost is _NONE_YET:
                self._outermost = set()
            self._outermost.add(waiter)
        return waiter

    def _give(self, waiters: list[Deferred[Any]], end: End) -> None:
        """
        Fire each of C{waiters} with C{end}'s protocol, the application's or
        the outermost one, as it asked.
        """
        if not self._outermost:
            # Nobody asked for the outermost one, as nearly always.
            fireAll(waiters, end.application)
            return
        outermost = [w for w in waiters if w in self._outermost]
        self._outermost.difference_update(outermost)
        fireAll([w for w in waiters if w not in outermost], end.application)
        fireAll(outermost, end.outermost)

    def release(self) -> None:
        """
        The teardown is over: nobody gets a server end any more, and every
        reference is dropped.
        """
        waiters: list[Deferred[Any]] = []
        # Mostly both are empty by now: nothing to gather.
        if self._serverWaiters or self._acceptWaiters:
            waiters = [w for ws in self._serverWaiters.values() for w in ws]
            waiters.extend(w for ws in self._acceptWaiters.values() for w in ws)
        self._serversByPeer.clear()
        self._serverWaiters.clear()
        self._unclaimed.clear()
        self._acceptWaiters = _NONE_YET
        self._aliases = _NONE_YET
        self._outermost = _NONE_YET
        for waiter in waiters:
            releaseWaiter(waiter, self.dropAwaited)


def expectInstance(
    built: Deferred[Any], expected: type[_P] | None, what: str
) -> Deferred[Any]:
    """
    Check, when C{built} fires, that its protocol is an instance of
    C{expected}, so a typed caller's C{Deferred[expected]} is not a lie.

    @param what: The method's name, for the error.
    @return: C{built}, failing with C{TypeError} naming both classes when
        the protocol is of another class; C{built} as it is when
        C{expected} is C{None}.
    """
    if expected is None:
        return built

    def check(protocol: object) -> object:
        if not isinstance(protocol, expected):
            raise TypeError(
                f"{what}() expected a {expected.__qualname__} but the port built "
                f"a {type(protocol).__qualname__}: {protocol!r}"
            )
        return protocol

    return built.addCallback(check)


def releaseWaiter(waiter: Deferred[Any], dropAwaited: bool = False) -> None:
    """
    Give up a waiter at the teardown: it fails with C{CancelledError} (one
    nobody waits on, quietly).

    @param dropAwaited: Whether one that something still awaits is dropped
        unfired instead: for a test case's own network, whose teardown runs
        after the test method; only a test that trial timed out can still be
        waiting then, and resuming it would fire trial's Deferred a second
        time.
    """
    if waiter.called:
        return
    if not _awaited(waiter):
        cancelQuietly(waiter)
    elif not dropAwaited:
        waiter.cancel()


def _awaited(waiter: Deferred[Any]) -> bool:
    # A Deferred's callbacks are its waiters (an await adds one).  Twisted
    # keeps them in "_callbacks" from 25.5 on, where reading the public
    # "callbacks" warns that it is deprecated, and in "callbacks" before.
    attributes = vars(waiter)
    chain = attributes.get("_callbacks", attributes.get("callbacks", ()))
    return bool(chain)
