"""
The relay behind a link: for each connection through it, the relay's
accepted connection from the client and its own connection to the server,
joined by one flow each way; and the record that closes them all with the
test's teardown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import ClientFactory, Factory, Protocol, connectionDone
from twisted.python.failure import Failure

from ._addresses import AddressKey, addressKey
from ._conditions import ABORT, END, LIMIT, Flow
from ._record import Record, fireAll
from ._report import Leftover, Origin
from ._transports import releaseSocket

if TYPE_CHECKING:
    from ._links import Link


class Side(Protocol):
    """
    One of the relay's two connections of a pipe.
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


class RelayFactory(Factory):
    noisy = False

    def __init__(self, link: Link) -> None:
        self._link = link

    def buildProtocol(self, addr: IAddress | None) -> Side | None:
        return self._link.accepted(addr)


class Pipe:
    """
    One connection through a link: the relay's accepted connection from the
    client, and its own connection to the server.
    """

    def __init__(self, link: Link, inboundKey: AddressKey | None) -> None:
        self.link = link
        self.inboundKey = inboundKey
        self.sides: list[Any] = []
        self.connector: Any = None
        self.closed = False
        self.waiters: list[Deferred[None]] = []
        self.outboundKey: AddressKey | None = None
        self._in: Any = None
        self._out: Any = None
        self._lost = {True: False, False: False}
        reactor = link.reactor
        self.up = Flow(
            reactor,
            link.upstream,
            lambda data: self._out.write(data),
            lambda action: self._act(action, self._out),
            lambda: self._in.pauseProducing(),
            lambda: self._in.resumeProducing(),
        )
        self.down = Flow(
            reactor,
            link.downstream,
            lambda data: self._in.write(data),
            lambda action: self._act(action, self._in),
            lambda: self._out.pauseProducing(),
            lambda: self._out.resumeProducing(),
        )

    def inboundMade(self, side: Side) -> None:
        self._in = side.transport
        self.sides.append(self._in)
        self._in.setTcpNoDelay(True)
        # Nothing is read until the server side is connected.
        self._in.pauseProducing()
        self.connector = self.link.dial(_OutboundFactory(self))

    def outboundBuilt(self, addr: IAddress | None) -> Side:
        self.outboundKey = self.link.outboundKey(addr)
        return Side(self, False)

    def outboundMade(self, side: Side) -> None:
        self.connector = None
        self._out = side.transport
        self.sides.append(self._out)
        self._out.setTcpNoDelay(True)
        key = self.outboundKey or addressKey(self._out.getHost())
        self.link.crossed(self.inboundKey, key)
        if self._lost[True]:
            self._out.loseConnection()
        else:
            self._in.resumeProducing()

    def outboundFailed(self) -> None:
        self.connector = None
        self._lost[False] = True
        if self._in is not None and not self._lost[True]:
            self._in.abortConnection()
        self._check()

    def received(self, inbound: bool, data: bytes) -> None:
        (self.up if inbound else self.down).receive(data)

    def lost(self, inbound: bool, aborted: bool) -> None:
        self._lost[inbound] = True
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
            if not self._lost[transport is self._in]:
                releaseSocket(self.link.reactor, transport)
        self._lost = {True: True, False: True}
        self.connector = None
        self._check()

    def _act(self, action: str, transport: Any) -> None:
        if action == ABORT:
            transport.abortConnection()
        elif action == END:
            transport.loseConnection()
        elif action == LIMIT:
            for side in self.sides:
                side.loseConnection()

    def _check(self) -> None:
        if self.closed:
            return
        outboundOver = self._lost[False] or (
            self._out is None and self.connector is None
        )
        if self._lost[True] and outboundOver:
            self.closed = True
            self.up.stop()
            self.down.stop()
            self.link.pipeClosed(self)
            fireAll(self.waiters, None)


class LinkRecord(Record):
    """
    The connections of one link, for the teardown: made a clean
    pass-through when it begins, aborted at its bound, never reported (the
    application's ends are).
    """

    role = "link"

    def __init__(self, link: Link, origin: Origin, onSettled: Callable[[Record], None]):
        super().__init__(origin, False, onSettled)
        self._link: Link | None = link

    @property
    def settled(self) -> bool:
        return self._link is None or not self._link.pipes

    @property
    def kind(self) -> str:
        return "" if self._link is None else repr(self._link)

    def close(self) -> None:
        if self._link is not None:
            self._link.closing = True
            for pipe in list(self._link.pipes):
                pipe.passThrough()

    def abort(self, waited: float) -> Leftover | None:
        if self._link is not None:
            for pipe in list(self._link.pipes):
                pipe.abort()
        return None

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if self._link is not None:
            for pipe in list(self._link.pipes):
                pipe.force()
        return leftover

    def forget(self) -> None:
        if self._link is not None:
            self._link.forget()
        self._link = None

    def pipeClosed(self) -> None:
        self._settle()
