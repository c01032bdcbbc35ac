# -*- test-case-name: tests.links.test_links,tests.links.test_linkTeardown -*-
"""
The relay behind a link: its listening port (a port of the test), the
connections through it, how it reaches the target port, and the record
that closes its connections with the test's teardown.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IAddress, IListeningPort
from twisted.internet.protocol import ClientFactory, Factory

from .._core._defaults import CONNECT_TIMEOUT
from .._core._record import Record
from .._core._report import Leftover, Origin
from .._sockets._addresses import AddressKey, addressKey, describeAddress, reachableHost
from .._sockets._observe import quietly
from .._sockets._ports import PortRecord
from .._sockets._transports import UNIX, privateSocketPath
from ._conditions import Direction
from ._pipes import Pipe, Side


class _RelayFactory(Factory):
    noisy = False

    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    def buildProtocol(self, addr: IAddress | None) -> Side | None:
        return self._relay.accepted(addr)


class ServedElsewhere:
    """
    What a link stands in front of when another process serves it (a
    server child), in the place of a port's record: its kind, and what
    says where it serves.
    """

    def __init__(self, front: Any) -> None:
        """
        @param front: The L{PortFront<trialnet._sockets._targets.PortFront>}
            of the server, with C{getHost()}.
        """
        self.transport = front.frontTransport
        self.port = front


class Relay:
    """
    The relay of one link: it listens where clients connect, and connects
    each of them on to the target port, through a L{Pipe}.

    @ivar pipes: The connections through it, open.
    @ivar closing: Whether the test's teardown began.
    """

    def __init__(
        self,
        reactor: Any,
        registry: Any,
        origin: Origin,
        target: PortRecord | ServedElsewhere,
        directions: tuple[Direction, Direction],
        seed: int,
    ) -> None:
        """
        @param directions: The link's upstream and downstream conditions.
        @param seed: The link's seed, for the report.
        """
        self.reactor = reactor
        self.pipes: list[Pipe] = []
        self.closing = False
        self.transport = target.transport
        self._registry = registry
        self._origin = origin
        self._directions = directions
        self._seed = seed
        targetPort: Any = target.port
        self._target = targetPort
        address = targetPort.getHost()
        self.targetText = describeAddress(address)
        self._unix = target.transport is UNIX
        self._path = privateSocketPath() if self._unix else ""
        self._host: str = "" if self._unix else reachableHost(address.host)
        self._number = 0
        self.port: IListeningPort | None = None
        self.listen()
        self._record = LinkRecord(self, origin, registry.recordSettled)
        registry.addRecord(self._record)

    @property
    def address(self) -> IAddress:
        """
        Where clients connect, whether or not it listens.
        """
        if self._unix:
            return UNIXAddress(self._path)
        kind = IPv6Address if ":" in self._host else IPv4Address
        return kind("TCP", self._host, self._number)

    @property
    def target(self) -> IListeningPort | None:
        """
        The port it relays to, until the teardown forgets it.
        """
        return self._target  # type: ignore[no-any-return]

    @property
    def frontText(self) -> str:
        """
        The link's address, as text.
        """
        return describeAddress(self.address)

    def describe(self) -> str:
        """
        Say which link this is, for the report.
        """
        return f"link {self.frontText} -> {self.targetText} (seed {self._seed})"

    def listen(self) -> None:
        """
        Listen at the link's address (a new one the first time).

        @raise RuntimeError: If the teardown began.
        """
        if self.closing or self._target is None:
            raise RuntimeError("this link is closed or closing with its test")
        factory = _RelayFactory(self)
        with quietly(self.reactor):
            if self._unix:
                port = self.reactor.listenUNIX(self._path, factory, mode=0o600)
            else:
                port = self.reactor.listenTCP(
                    self._number, factory, interface=self._host
                )
                self._number = port.getHost().port
        self.port = port
        self._registry.addPort(
            port, self._origin, self.transport, socketPath=self._path
        )
        self._registry.noteCrossing(addressKey(port.getHost()), self.describe())

    def stop(self) -> Deferred[None]:
        """
        Stop listening, and abort every connection through the relay.

        @return: A L{Deferred} that fires once all of it is done.
        """
        port, self.port = self.port, None
        waits = [self.abortAll()]
        if port is not None:
            stopping = port.stopListening()
            if stopping is not None:
                waits.append(stopping)
        return DeferredList(waits, consumeErrors=True).addCallback(_nothing)

    def abortAll(self) -> Deferred[None]:
        """
        Abort every connection through the relay.

        @return: A L{Deferred} that fires once they are gone.
        """
        waits = []
        for pipe in list(self.pipes):
            waiter: Deferred[None] = Deferred()
            pipe.waiters.append(waiter)
            waits.append(waiter)
            pipe.abort()
        return DeferredList(waits, consumeErrors=True).addCallback(_nothing)

    # What the pipes ask and tell

    def accepted(self, addr: IAddress | None) -> Side | None:
        if self.closing or self._target is None:
            return None
        if self._unix:
            key = self._registry.pairing.nextKey("server", self._path)
        else:
            key = addressKey(addr)
        pipe = Pipe(self, *self._directions, key)
        self.pipes.append(pipe)
        return Side(pipe, True)

    def dial(self, factory: ClientFactory) -> Any:
        address: Any = self._target.getHost()
        with quietly(self.reactor):
            if self._unix:
                return self.reactor.connectUNIX(
                    address.name, factory, timeout=CONNECT_TIMEOUT
                )
            host = reachableHost(address.host)
            return self.reactor.connectTCP(
                host, address.port, factory, timeout=CONNECT_TIMEOUT
            )

    def outboundKey(self, addr: IAddress | None) -> AddressKey | None:
        if self._unix and isinstance(addr, UNIXAddress) and addr.name:
            path = os.fsdecode(addr.name)
            key: AddressKey = self._registry.pairing.nextKey("client", path)
            return key
        return None

    def crossed(self, inbound: AddressKey | None, outbound: AddressKey | None) -> None:
        if inbound is not None and outbound is not None:
            self._registry.pairing.alias(inbound, outbound)
        if outbound is not None:
            self._registry.noteCrossing(outbound, self.describe())

    def pipeClosed(self, pipe: Pipe) -> None:
        if pipe in self.pipes:
            self.pipes.remove(pipe)
        self._record.pipeClosed()

    def forget(self) -> None:
        self._target = None
        self.port = None
        for pipe in self.pipes:
            pipe.up.stop()
            pipe.down.stop()
        self.pipes = []


class LinkRecord(Record):
    """
    The connections of one link, for the teardown: made a clean
    pass-through when it begins, aborted at its bound, never reported (the
    application's ends are).
    """

    role = "link"

    def __init__(
        self, relay: Relay, origin: Origin, onSettled: Callable[[Record], None]
    ) -> None:
        super().__init__(origin, False, onSettled)
        self._relay: Relay | None = relay

    @property
    def settled(self) -> bool:
        return self._relay is None or not self._relay.pipes

    def close(self) -> None:
        if self._relay is not None:
            self._relay.closing = True
            for pipe in list(self._relay.pipes):
                pipe.passThrough()

    def abort(self, waited: float) -> Leftover | None:
        if self._relay is not None:
            for pipe in list(self._relay.pipes):
                pipe.abort()
        return None

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if self._relay is not None:
            for pipe in list(self._relay.pipes):
                pipe.force()
        return leftover

    def forget(self) -> None:
        if self._relay is not None:
            self._relay.forget()
        self._relay = None

    def pipeClosed(self) -> None:
        self._settle()


def _nothing(ignored: object) -> None:
    return None
