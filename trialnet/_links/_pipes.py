# -*- test-case-name: tests.links.test_links -*-
"""
The connections through a link: for each, the relay's accepted connection
from the client and its own connection to the server, joined by one flow
each way.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol as StructuralType

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IAddress,
    IHalfCloseableProtocol,
    IPushProducer,
)
from twisted.internet.protocol import ClientFactory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from .._core._lifecycle import (
    PIPE_MOVES,
    SIDE_MOVES,
    SIDE_WRITE_SHUT,
    PipeEvent,
    PipeState,
    SideEvent,
    SideState,
    move,
)
from .._core._record import fireAll
from .._sockets._addresses import AddressKey, addressKey
from .._sockets._transports import releaseSocket
from ._conditions import Direction, Flow, Marker


class PipeRelay(StructuralType):
    """
    What a pipe needs of the L{relay<trialnet._links._relay.Relay>} that
    accepted it (declared here, so that the relay imports its pipes and not
    the other way round).
    """

    reactor: Any

    def dial(self, factory: ClientFactory) -> Any:
        """
        Connect to the server behind the link.
        """

    def outboundKey(self, addr: IAddress | None) -> AddressKey | None:
        """
        The key of the relay's own address towards the server.
        """

    def crossed(self, inbound: AddressKey | None, outbound: AddressKey | None) -> None:
        """
        Note that the connection C{inbound} goes on as C{outbound}.
        """

    def pipeClosed(self, pipe: Pipe) -> None:
        """
        Forget C{pipe}, both of whose connections are closed.
        """


@implementer(IHalfCloseableProtocol)
class Side(Protocol):
    """
    One of the relay's two connections of a pipe.  It is half-closeable, so
    that a peer that closes only its writing side (C{loseWriteConnection})
    still gets the answer, as without the link.
    """

    def __init__(self, pipe: Pipe, inbound: bool) -> None:
        self._pipe = pipe
        self._inbound = inbound

    def connectionMade(self) -> None:
        if self._inbound:
            self._pipe.inboundMade(self)
        else:
            self._pipe.outboundMade(self)

    def dataReceived(self, data: bytes) -> None:
        self._pipe.received(self._inbound, data)

    def readConnectionLost(self) -> None:
        self._pipe.readLost(self._inbound)

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._pipe.lost(self._inbound, not reason.check(ConnectionDone))


class _OutboundFactory(ClientFactory):
    noisy = False

    def __init__(self, pipe: Pipe) -> None:
        self._pipe = pipe

    def buildProtocol(self, addr: IAddress | None) -> Side:
        return self._pipe.outboundBuilt(addr)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self._pipe.outboundFailed()


@implementer(IPushProducer)
class _Gate:
    """
    Whether the relay reads from one of its connections: it stops while
    any reason to stop holds (the other side not connected yet, a full
    queue, a destination that does not keep up), so that a sender through
    a link is slowed down as it would be without it.  Registered as the
    producer of the other connection, the destination of what is read.
    """

    def __init__(self) -> None:
        self.transport: Any = None
        self._reasons: set[str] = set()

    def stop(self, reason: str) -> None:
        if not self._reasons and self.transport is not None:
            self.transport.pauseProducing()
        self._reasons.add(reason)

    def go(self, reason: str) -> None:
        if reason not in self._reasons:
            return
        self._reasons.discard(reason)
        if not self._reasons and self.transport is not None:
            self.transport.resumeProducing()

    def pauseProducing(self) -> None:
        self.stop("destination")

    def resumeProducing(self) -> None:
        self.go("destination")

    def stopProducing(self) -> None:
        pass


class Pipe:
    """
    One connection through a link: the relay's accepted connection from the
    client, and its own connection to the server.

    @ivar state: Where it is, moved by L{PIPE_MOVES} only.
    @ivar inboundState: Where the relay's connection from the client is,
        moved by L{SIDE_MOVES} only.
    @ivar outboundState: Where its connection to the server is, likewise.
    """

    def __init__(
        self,
        relay: PipeRelay,
        upstream: Direction,
        downstream: Direction,
        inboundKey: AddressKey | None,
    ) -> None:
        self.relay = relay
        self.inboundKey = inboundKey
        self.sides: list[Any] = []
        self.connector: Any = None
        self.state = PipeState.DIALING
        self.inboundState = SideState.OPEN
        self.outboundState = SideState.OPEN
        self.waiters: list[Deferred[None]] = []
        self.outboundKey: AddressKey | None = None
        self._in: Any = None
        self._out: Any = None
        # What reads from the client side, and from the server side.
        self._fromClient = _Gate()
        self._fromServer = _Gate()
        reactor = relay.reactor
        self.up = Flow(
            reactor,
            upstream,
            lambda data: self._out.write(data),
            lambda action: self._act(action, False),
            lambda: self._fromClient.stop("queue"),
            lambda: self._fromClient.go("queue"),
        )
        self.down = Flow(
            reactor,
            downstream,
            lambda data: self._in.write(data),
            lambda action: self._act(action, True),
            lambda: self._fromServer.stop("queue"),
            lambda: self._fromServer.go("queue"),
        )

    def inboundMade(self, side: Side) -> None:
        self._in = side.transport
        self.sides.append(self._in)
        _noDelay(self._in)
        # Nothing is read until the server side is connected.
        self._fromClient.transport = self._in
        self._fromClient.stop("connecting")
        self.connector = self.relay.dial(_OutboundFactory(self))

    def outboundBuilt(self, addr: IAddress | None) -> Side:
        self.outboundKey = self.relay.outboundKey(addr)
        return Side(self, False)

    def outboundMade(self, side: Side) -> None:
        self.connector = None
        self._out = side.transport
        self.sides.append(self._out)
        _noDelay(self._out)
        key = self.outboundKey or addressKey(self._out.getHost())
        self.relay.crossed(self.inboundKey, key)
        self.state = move(PIPE_MOVES, self.state, PipeEvent.JOINED, self)
        if self.inboundState is SideState.LOST:
            self._out.loseConnection()
            return
        self._fromServer.transport = self._out
        self._out.registerProducer(self._fromClient, True)
        self._in.registerProducer(self._fromServer, True)
        self._fromClient.go("connecting")

    def outboundFailed(self) -> None:
        self.connector = None
        self._tell(False, SideEvent.LOST)
        if self._in is not None and self.inboundState is not SideState.LOST:
            self._in.abortConnection()
        self._check()

    def received(self, inbound: bool, data: bytes) -> None:
        (self.up if inbound else self.down).receive(data)

    def readLost(self, inbound: bool) -> None:
        """
        The peer of one side shut its writing side: the close goes on to the
        other side's peer, after the bytes before it.
        """
        self._tell(inbound, SideEvent.READ_DONE)
        (self.up if inbound else self.down).end(False)
        self._closeIfShut(inbound)

    def lost(self, inbound: bool, aborted: bool) -> None:
        """
        One side's connection is gone: its close goes on to the other
        side's peer, and what that peer sends can go nowhere any more.
        """
        self._tell(inbound, SideEvent.LOST)
        other = not inbound
        self._tell(other, SideEvent.READ_DONE)
        if inbound:
            self.down.stop()
            if self._out is None:
                if self.connector is not None:
                    self.connector.disconnect()
            else:
                self.up.end(aborted)
        else:
            self.up.stop()
            self.down.end(aborted)
        transport = self._in if other else self._out
        if self._stateOf(other) in SIDE_WRITE_SHUT and transport:
            # The close went on already, as a half-close: now close it all.
            if aborted:
                transport.abortConnection()
            else:
                self._closeIfShut(other)
        self._check()

    def abort(self) -> None:
        """
        Abort both of the relay's connections: each peer sees a reset.
        """
        self.up.stop()
        self.down.stop()
        if self.connector is not None:
            self.connector.disconnect()
        for transport in self.sides:
            transport.abortConnection()

    def passThrough(self) -> None:
        self.up.passThrough()
        self.down.passThrough()

    def force(self) -> None:
        self.up.stop()
        self.down.stop()
        for transport in self.sides:
            if self._stateOf(transport is self._in) is not SideState.LOST:
                releaseSocket(self.relay.reactor, transport)
        self._tell(True, SideEvent.LOST)
        self._tell(False, SideEvent.LOST)
        self.connector = None
        self._check()

    def _act(self, action: Marker, toInbound: bool) -> None:
        transport = self._in if toInbound else self._out
        if action is Marker.ABORT:
            transport.abortConnection()
        elif action is Marker.END:
            self._tell(toInbound, SideEvent.WRITE_DONE)
            # A registered producer would keep the close from completing.
            transport.unregisterProducer()
            transport.loseWriteConnection()
            self._closeIfShut(toInbound)
        elif action is Marker.LIMIT:
            for side in self.sides:
                side.unregisterProducer()
                side.loseConnection()

    def _closeIfShut(self, inbound: bool) -> None:
        if self._stateOf(inbound) is SideState.SHUT:
            transport = self._in if inbound else self._out
            transport.unregisterProducer()
            transport.loseConnection()

    def _stateOf(self, inbound: bool) -> SideState:
        return self.inboundState if inbound else self.outboundState

    def _tell(self, inbound: bool, event: SideEvent) -> None:
        if inbound:
            self.inboundState = move(SIDE_MOVES, self.inboundState, event, self)
        else:
            self.outboundState = move(SIDE_MOVES, self.outboundState, event, self)

    def _check(self) -> None:
        if self.state is PipeState.CLOSED:
            return
        outboundOver = self.outboundState is SideState.LOST or (
            self._out is None and self.connector is None
        )
        if self.inboundState is SideState.LOST and outboundOver:
            self.state = move(PIPE_MOVES, self.state, PipeEvent.CLOSED, self)
            self.up.stop()
            self.down.stop()
            self.relay.pipeClosed(self)
            fireAll(self.waiters, None)


def _noDelay(transport: Any) -> None:
    """
    Send small writes at once over TCP (a slice of one byte is one segment).
    Not over UNIX sockets: Twisted before 25 lets C{unix.Server} inherit
    C{setTcpNoDelay}, which the kernel refuses there.
    """
    if isinstance(transport.getHost(), (IPv4Address, IPv6Address)):
        transport.setTcpNoDelay(True)
