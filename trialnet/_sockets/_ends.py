# -*- test-case-name: tests.sockets.test_closing,tests.sockets.test_transports -*-
"""
One end of a connection, observed without wrapping it: the protocol's
C{makeConnection} tells when it connected, and the reactor's transport's
C{connectionLost} when it closed, whatever protocol the transport holds by
then (HTTP Upgrade and HTTP/2 switch protocols midway).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Set
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import IHalfCloseableProtocol, IProtocol
from twisted.protocols.policies import ProtocolWrapper
from twisted.python import log
from twisted.python.failure import Failure
from twisted.python.reflect import qual

from .._core._lifecycle import END_MOVES, EndEvent, EndState, ImpossibleMoveError
from .._core._patch import NOTHING_SET, claimedBy, patchIn, unpatch
from .._core._record import Record, fireAll
from .._core._report import Leftover, Origin
from .._core._retries import retriesOf
from ._addresses import AddressKey, addressKey, describeAddress
from ._transports import protocolChain, releaseSocket, socketTransport

# Read once: a member read through its enum class costs a Python-level
# lookup (Python 3.11), and these are read for every test.
_NEW = EndState.NEW
_OPEN = EndState.OPEN
_LOSING = EndState.LOSING
_CLOSED = EndState.CLOSED
_ON_CONNECTED = EndEvent.CONNECTED
_ON_LOSING = EndEvent.LOSING
_ON_CLOSED = EndEvent.CLOSED


class EndListener(Protocol):
    """
    What an end tells its registry, and asks of it.

    @ivar reactor: The reactor its sockets belong to.
    @ivar readersAtClose: What the reactor read from when the teardown began.
    """

    reactor: Any
    readersAtClose: Set[object]

    def endMade(self, end: End) -> None: ...

    @property
    def tellSettled(self) -> Callable[[Record], None]:
        """
        What an end calls as it settles.
        """

    def crossing(self, key: AddressKey | None) -> str: ...


class End(Record):
    """
    One tracked connection end: a client, a server, or an adopted protocol.

    @ivar protocol: The protocol observed; dropped at the teardown.
    @ivar application: The application's protocol inside it (the same, but
        under an endpoint's or TLS's wrapping protocol).
    @ivar chain: The protocols of its connection, outermost first, down to
        C{application}: from the one the reactor's transport held when it
        connected (see L{protocolChain}), else from C{protocol}.
    @ivar transport: The transport the protocol was given, while connected.
    @ivar hostKey: The local address recorded when it connected.
    @ivar peerKey: The peer's address recorded when it connected.
    @ivar pairKey: For an end paired by order (UNIX), the key given when its
        protocol was built.
    @ivar port: For a server end, the record of the port that accepted it.
    @ivar attempt: For a client of L{trialnet.INetworkOpening.connect}, its
        attempt.
    @ivar claimed: Whether it was handed out as a server end already (the
        pairing's bookkeeping, whatever the end's state).
    @ivar state: Where it is, moved by L{END_MOVES} only.
    @ivar rechained: Whether L{chain} changed when it connected (the
        registry files it again under each protocol of it).
    """

    # What most ends keep as it starts, read from the class until an end
    # sets its own: a dozen instance attributes fewer to set for every end.
    transport: Any = None
    hostKey: AddressKey | None = None
    peerKey: AddressKey | None = None
    _host: Any = None
    _peer: Any = None
    claimed = False
    rechained = False
    # Whether it is settled: any state but OPEN.  Inside the transport's
    # connectionLost the connection is gone, even before the protocol heard
    # it (and code resumed from there may end the test).  Shaped for speed:
    # set beside the state at each of its moves rather than a property, for
    # the teardown reads it of every record at each of its checks.
    settled = True
    _lostOn: Any = None
    _savedMake: object = NOTHING_SET
    _savedLost: object = NOTHING_SET

    def __init__(
        self,
        role: str,
        origin: Origin,
        protocol: IProtocol,
        listener: EndListener,
        observed: bool = False,
        attempt: Any = None,
        port: Any = None,
        pairKey: AddressKey | None = None,
    ) -> None:
        # Record's three attributes, set here rather than through
        # super().__init__: shaped for speed, two ends a connection (a
        # super() call costs more than the three stores).
        self.origin = origin
        self.observed = observed
        self._onSettled = listener.tellSettled
        self.role = role  # type: ignore[misc]
        self.protocol: IProtocol | None = protocol
        self.chain: list[Any] = protocolChain(protocol)
        self.application: Any = self.chain[-1]
        self._applicationClass = type(self.application)
        self.attempt = attempt
        self.port = port
        self.pairKey = pairKey
        self.state = _NEW
        self.closeWaiters: list[Deferred[None]] = []
        self._listener = listener
        # What it patches, kept here rather than in an InstancePatch each:
        # the protocol's makeConnection until it is called, and the
        # connectionLost of the transport the reactor tells (see
        # _connected), each with what to put back.
        if claimedBy(protocol, "protocol", End, "makeConnection", "connectionLost"):
            raise ValueError(
                f"{self.kind} instance is already connected through trialnet; "
                f"a protocol instance serves one connection at a time, so pass "
                f"a factory to open several"
            )

    @property
    def kind(self) -> str:
        # Named at the report, from the class the application's protocol
        # had when the end was made (HTTP/2 and Upgrade replace protocols).
        return qual(self._applicationClass)

    @property
    def outermost(self) -> Any:
        """
        The outermost protocol of its connection above TLS: what the
        application's factory built, around the application's protocol when
        that factory wraps another (a
        L{ThrottlingFactory<twisted.protocols.policies.ThrottlingFactory>}).
        """
        tls = getattr(
            sys.modules.get("twisted.protocols.tls"), "TLSMemoryBIOProtocol", ()
        )
        for protocol in self.chain:
            if not isinstance(protocol, tls):
                return protocol
        return self.application

    @property
    def open(self) -> bool:
        """
        Whether it connected and its connection has not closed yet.
        """
        return self.state is _OPEN or self.state is _LOSING

    @property
    def closed(self) -> bool:
        """
        Whether its connection closed.
        """
        return self.state is _CLOSED

    # Observing

    def watchConnect(self) -> None:
        """
        Observe a protocol that is about to be connected.
        """
        protocol = self.protocol
        self._originalMake = protocol.makeConnection  # type: ignore[union-attr]
        if self._savedMake is NOTHING_SET:
            self._savedMake = patchIn(protocol, "makeConnection", self._makeConnection)

    def adoptConnected(self, transport: Any) -> None:
        """
        Observe a protocol that is already connected.
        """
        self._connected(transport)

    def _makeConnection(self, transport: Any) -> None:
        # _restoreMake(), written out (as in _connectionLost): shaped for
        # speed, one call fewer for every end.
        saved, self._savedMake = self._savedMake, NOTHING_SET
        unpatch(self.protocol, "makeConnection", saved)
        self._connected(transport)
        try:
            self._originalMake(transport)
        finally:
            self._listener.endMade(self)

    def _connected(self, transport: Any) -> None:
        self.transport = transport
        if self.role != "server":
            # A client's own address pairs it with its server end.  A server
            # end's (the port's, a system call away) is only for a report.
            self._host = transport.getHost()
            self.hostKey = addressKey(self._host)
        self._peer = transport.getPeer()
        self.peerKey = addressKey(self._peer)
        # Each of an end's three moves is the table's move() written out,
        # with no method of the end around it: shaped for speed, two calls
        # fewer a move, for every end.
        try:
            self.state = END_MOVES[self.state, _ON_CONNECTED]
        except KeyError:
            raise ImpossibleMoveError(self, self.state, _ON_CONNECTED) from None
        self.settled = self.state is not _OPEN
        # socketTransport(transport), written out: shaped for speed, one call
        # fewer for every end, whose transport is mostly the socket's own.
        underlying = transport
        while isinstance(underlying, ProtocolWrapper):
            underlying = underlying.transport
        outermost = getattr(underlying, "protocol", None)
        # The reactor's transport holds this very protocol, as it does for
        # most ends: its chain is the one it has (no second walk).
        if outermost is not self.protocol:
            held = protocolChain(outermost)
            # A loop, not any() over a generator: it runs for every end.
            for outer in held:
                if outer is self.protocol:
                    self.chain = held
                    self.rechained = True
                    break
        # The reactor tells the transport under every wrapping protocol
        # when the connection is gone; the protocol may have been replaced.
        lostOn: Any = underlying
        if not (hasattr(lostOn, "__dict__") and hasattr(lostOn, "connectionLost")):
            lostOn = self.protocol
        self._lostOn = lostOn
        self._originalLost = lostOn.connectionLost
        self._savedLost = patchIn(lostOn, "connectionLost", self._connectionLost)

    def _restoreMake(self) -> None:
        saved, self._savedMake = self._savedMake, NOTHING_SET
        unpatch(self.protocol, "makeConnection", saved)

    def _restoreLost(self) -> None:
        saved, self._savedLost = self._savedLost, NOTHING_SET
        unpatch(self._lostOn, "connectionLost", saved)

    def _connectionLost(self, reason: Failure) -> None:
        # _restoreLost(), written out (as in _makeConnection): shaped for
        # speed, one call fewer for every end.
        saved, self._savedLost = self._savedLost, NOTHING_SET
        unpatch(self._lostOn, "connectionLost", saved)
        try:
            self.state = END_MOVES[self.state, _ON_LOSING]
        except KeyError:
            raise ImpossibleMoveError(self, self.state, _ON_LOSING) from None
        self.settled = self.state is not _OPEN
        try:
            with retriesOf(self._listener.reactor, self._listener, self.origin):
                self._originalLost(reason)
        except BaseException:
            if self.attempt is not None:
                self.attempt.protocolLostRaised()
            raise
        finally:
            self._markClosed()

    def _markClosed(self) -> None:
        try:
            self.state = END_MOVES[self.state, _ON_CLOSED]
        except KeyError:
            raise ImpossibleMoveError(self, self.state, _ON_CLOSED) from None
        self.settled = self.state is not _OPEN
        self.transport = None
        # Record._settle(), written out: one call fewer for every end.
        self._onSettled(self)
        if self.closeWaiters:
            # Checked here: most ends have nobody waiting, and no call is made.
            fireAll(self.closeWaiters, None)

    # Closing

    def close(self) -> None:
        # Shaped for speed (the teardown closes every end): the open
        # property written out, one call fewer.
        state = self.state
        if state is _OPEN or state is _LOSING:
            transport = self.transport
            transport.loseConnection()
            # Let it read until its close completes.  A TLS close completes
            # once the peer's close_notify is read, and only then closes the
            # socket.  A transport the application paused (an HTTP client
            # pauses the one whose response body it has not read yet) would
            # never read it: its close would wait for the bound, and be
            # aborted, with a peer that trialnet does not close itself (in
            # another process).  A socket transport whose own close has
            # begun (TCP stops reading at loseConnection, and needs no more)
            # is left as it is.
            # socketTransport(transport), written out as in _connected.
            underlying = transport
            while isinstance(underlying, ProtocolWrapper):
                underlying = underlying.transport
            # Shaped for speed: a socket transport whose close has begun,
            # as every plain TCP one has by now, is told apart without a
            # call of _closingAboveSocket.
            if getattr(underlying, "disconnecting", True):
                return
            if _closingAboveSocket(underlying):
                underlying.resumeProducing()

    def abort(self, waited: float) -> Leftover:
        leftover = self.leftover(f"aborted after {waited:.2f}s")
        abort = getattr(self.transport, "abortConnection", None)
        if abort is None:
            self.transport.loseConnection()
        else:
            abort()
        return leftover

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if not self.open:
            return leftover
        # Its address, while it still has a socket to ask.
        self._local()
        releaseSocket(self._listener.reactor, self.transport)
        try:
            self._connectionLost(Failure(ConnectionAborted()))
        except Exception:
            log.err(None, f"trialnet: connectionLost failed on {self.kind}")
        if self.open:
            self._markClosed()
        action = "it still did not close, so its socket was closed by force"
        if leftover is None:
            return self.leftover(action)
        return self.leftover(f"{leftover.action}; {action}")

    def forget(self) -> None:
        # Read plainly: both are restored already when it connected and
        # closed, as nearly every end did by now.
        if self._savedMake is not NOTHING_SET:
            self._restoreMake()
        if self._savedLost is not NOTHING_SET:
            self._restoreLost()
        self._lostOn = None
        self.protocol = None
        self.application = None
        self.chain = []
        self.transport = None
        self.port = None
        self.attempt = None
        if self.closeWaiters:
            # Checked here: most ends have nobody waiting, and no call is made.
            fireAll(self.closeWaiters, None)

    # Reporting

    def leftover(self, action: str, **details: str) -> Leftover:
        return Leftover(
            role=self.role,
            origin=self.origin,
            action=action,
            kind=self.kind,
            local=self._local(),
            peer="" if self._peer is None else describeAddress(self._peer),
            cause=self._cause(),
            via=self._listener.crossing(self.peerKey),
        )

    def _local(self) -> str:
        """
        Describe its own address, asking the transport the first time.
        """
        if self._host is None and self.open and self.transport is not None:
            try:
                self._host = self.transport.getHost()
            except Exception:
                return ""
        return "" if self._host is None else describeAddress(self._host)

    @property
    def peerText(self) -> str:
        return "" if self._peer is None else describeAddress(self._peer)

    def _cause(self) -> str:
        """
        Say what is known to keep the connection open.
        """
        transport = self.transport
        if transport is None:
            return ""
        underlying = socketTransport(transport)
        unsent = _unsentBytes(underlying) + sum(
            len(data) for data in getattr(transport, "_appSendBuffer", ())
        )
        if unsent:
            return f"{unsent} bytes the peer did not read"
        producer = _applicationProducer(transport)
        if producer is not None:
            return (
                f"a registered producer ({type(producer).__qualname__}) that was "
                f"never unregistered"
            )
        if _closingAboveSocket(underlying):
            # A TLS close, which reads until the peer's close_notify: the
            # teardown resumed reading, unless the application paused it
            # again since.
            if underlying not in self._listener.reactor.getReaders():
                return "a transport that was not reading (paused)"
            return "a TLS close_notify the peer never answered"
        if underlying not in self._listener.readersAtClose:
            if IHalfCloseableProtocol.providedBy(self.application):
                return (
                    "a half-closed connection: the peer closed its side and "
                    "the protocol (IHalfCloseableProtocol) never closed its own"
                )
            return "a transport that was not reading (paused)"
        return ""


def _closingAboveSocket(underlying: Any) -> bool:
    """
    Whether a connected socket transport has not begun to close although
    its end was asked to: a layer above it (TLS) waits for its peer first.
    """
    return bool(
        getattr(underlying, "connected", False)
        and not getattr(underlying, "disconnecting", True)
        and callable(getattr(underlying, "resumeProducing", None))
    )


def _applicationProducer(transport: object) -> object:
    """
    The producer the application registered on a transport, seen through the
    adapters a TLS transport puts around it.
    """
    if socketTransport(transport) is transport:
        producer = getattr(transport, "producer", None)
    else:
        producer = vars(transport).get("_producer")
    while hasattr(producer, "_producer"):
        producer = producer._producer  # type: ignore[union-attr]
    return producer


def _unsentBytes(transport: object) -> int:
    """
    Count what a transport still buffers for its peer, for the report.
    """
    buffered = getattr(transport, "dataBuffer", b"")
    offset = getattr(transport, "offset", 0)
    pending = getattr(transport, "_tempDataLen", 0)
    try:
        return max(0, len(buffered) - offset) + pending
    except TypeError:
        return 0
