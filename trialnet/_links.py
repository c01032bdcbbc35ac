"""
Links: an in-process relay in front of a stream port of a test (TCP, TLS,
UNIX), whose conditions the test sets per direction while connections are
open.  The relay forwards bytes, so TLS is verified end to end.

The relay's port is a port of the test (so that a link is a target like a
port, and the teardown stops it first); its connections are one record of
the teardown, which turns the link into a clean pass-through so that what
closes through it (TLS's close included) closes in an orderly way, and
aborts it at the bound.  The relay's sockets are never reported: the
application's ends are, and say which link they crossed.
"""

from __future__ import annotations

import os
import random
from typing import Any

from twisted.internet.address import UNIXAddress
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.interfaces import IAddress, IListeningPort
from twisted.internet.protocol import ClientFactory
from twisted.python import log

from ._addresses import AddressKey, addressKey
from ._conditions import Direction
from ._observe import quietly
from ._ports import PortRecord
from ._relay import LinkRecord, Pipe, RelayFactory, Side
from ._report import Origin, describeAddress
from ._targets import PortFront
from ._transports import UNIX, privateSocketPath

_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def newSeed(seed: object) -> int:
    """
    @return: C{seed}, or a new random one when it is C{None}.
    @raise TypeError: When it is neither an int nor C{None}.
    """
    if seed is None:
        return random.SystemRandom().randrange(2**32)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int or None, not {seed!r}")
    return seed


class Link(PortFront):
    """
    A relay in front of a stream port of the test, made by
    L{INetwork.link<trialnet._interfaces.INetwork.link>}.  A link is a
    target wherever a port is (C{connect}, C{clientEndpoint}, C{url});
    C{serverProtocolFor} pairs through it.

    Every condition applies to both directions; set one on L{upstream}
    (client to server) or L{downstream} (server to client) for one
    direction.  Conditions combine, and apply to the bytes that arrive
    after they are set, on every connection through the link.

    @ivar upstream: The conditions from the client to the server.
    @ivar downstream: The conditions from the server to the client.
    @ivar seed: The seed of its random source (jitter): pass it to
        C{link(port, seed=...)} to replay a run.
    """

    def __init__(
        self,
        reactor: Any,
        registry: Any,
        origin: Origin,
        target: PortRecord,
        seed: int,
    ) -> None:
        self.reactor = reactor
        self.seed = seed
        self.frontTransport = target.transport
        self.upstream = Direction("upstream", seed)
        self.downstream = Direction("downstream", seed)
        self.pipes: list[Pipe] = []
        self.closing = False
        self._registry = registry
        self._origin = origin
        self._target: IListeningPort | None = target.port
        targetPort: Any = target.port
        self._targetText = _describe(targetPort.getHost())
        self._unix = target.transport is UNIX
        self._path = privateSocketPath() if self._unix else ""
        self._host = ""
        self._number = 0
        self._port: IListeningPort | None = None
        self._listen(target)
        self._record = LinkRecord(self, origin, registry.recordSettled)
        registry.addRecord(self._record)
        log.msg(f"trialnet: {self!r} opened at {origin}")

    def __repr__(self) -> str:
        return f"<Link {self._frontText()} -> {self._targetText} seed={self.seed}>"

    # Conditions of both directions

    def latency(self, seconds: float, jitter: float = 0.0) -> None:
        """
        Delay each direction by C{seconds} (one way), give or take up to
        C{jitter}, drawn from the link's seeded random source per chunk of
        bytes read; see L{Direction.latency<trialnet._conditions.Direction.latency>}.
        """
        for direction in self._both():
            direction.latency(seconds, jitter)

    def bandwidth(self, bytesPerSecond: float) -> None:
        """
        Deliver at most C{bytesPerSecond} bytes a second, each way.
        """
        for direction in self._both():
            direction.bandwidth(bytesPerSecond)

    def slice(self, size: int, gap: float = 0.002) -> None:
        """
        Deliver in writes of at most C{size} bytes, C{gap} seconds apart,
        each way: a parser gets them in as many reads.
        """
        for direction in self._both():
            direction.slice(size, gap)

    def limit(self, count: int) -> None:
        """
        Deliver the first C{count} bytes of a connection in a direction,
        then close both of its sides in an orderly way.
        """
        for direction in self._both():
            direction.limit(count)

    def hold(self) -> None:
        """
        Keep everything that arrives, each way, until L{release}.
        """
        for direction in self._both():
            direction.hold()

    def release(self) -> None:
        """
        Deliver what was held, in order, and stop holding.
        """
        for direction in self._both():
            direction.release()

    def blackhole(self) -> None:
        """
        Forward neither bytes (they are dropped) nor closes, until
        L{clear}: the peer seems to have vanished, with the connection open.
        """
        for direction in self._both():
            direction.blackhole()

    def clear(self) -> None:
        """
        Back to a clean pass-through: every condition is removed, held bytes
        are delivered, a close kept back is passed on, and a link that is
        L{down} listens again.
        """
        for direction in self._both():
            direction.clear()
        if self._port is None and not self.closing:
            self.up()

    # The link itself

    def reset(self) -> Deferred[None]:
        """
        Abort every connection through the link: both the client and the
        server see a reset.

        @return: A L{Deferred} that fires once the relay's connections are
            gone.
        """
        return self._abortAll()

    def down(self) -> Deferred[None]:
        """
        Stop accepting at the link's address (a new C{connect()} is refused
        with the reactor's own error) and abort every connection through it.

        @return: A L{Deferred} that fires once the port stopped and the
            connections are gone.
        """
        port, self._port = self._port, None
        stopped: Deferred[Any] = (
            Deferred.fromCoroutine(_nothing())
            if port is None
            else maybeDeferred(port.stopListening)
        )
        waits = DeferredList([stopped, self._abortAll()], consumeErrors=True)
        return waits.addCallback(lambda ignored: None)

    def up(self) -> None:
        """
        Listen again at the same address (the same port number, or the same
        UNIX path), so that the addresses handed out stay valid; nothing
        when it listens already.

        @raise RuntimeError: If the test's teardown began.
        @raise twisted.internet.error.CannotListenError: If the address is
            taken.
        """
        if self._port is not None:
            return
        if self.closing:
            raise RuntimeError("this link is closing with its test's network")
        if self._target is None:
            raise RuntimeError("this link was torn down")
        self._listen(None)

    def getHost(self) -> IAddress:
        """
        @return: The link's address, where clients connect.
        """
        address: IAddress = self.frontAddress()
        return address

    # A target, for the opener

    def frontAddress(self) -> Any:
        if self._unix:
            return UNIXAddress(self._path)
        from twisted.internet.address import IPv4Address, IPv6Address

        kind = IPv6Address if ":" in self._host else IPv4Address
        return kind("TCP", self._host, self._number)

    def frontPort(self) -> IListeningPort | None:
        return self._port

    # What pipes tell

    def accepted(self, addr: IAddress | None) -> Side | None:
        if self.closing or self._target is None:
            return None
        if self._unix:
            key = self._registry.pairing.nextKey("server", self._path)
        else:
            key = addressKey(addr)
        pipe = Pipe(self, key)
        self.pipes.append(pipe)
        return Side(pipe, True)

    def dial(self, factory: ClientFactory) -> Any:
        assert self._target is not None
        address: Any = self._target.getHost()
        with quietly(self.reactor):
            if self._unix:
                return self.reactor.connectUNIX(address.name, factory, timeout=30)
            host = _LOOPBACK.get(address.host, address.host)
            return self.reactor.connectTCP(
                host,
                address.port,
                factory,
                timeout=30,
            )

    def outboundKey(self, addr: IAddress | None) -> AddressKey | None:
        if self._unix and isinstance(addr, UNIXAddress) and addr.name:
            key: AddressKey = self._registry.pairing.nextKey("client", _text(addr.name))
            return key
        return None

    def crossed(self, inbound: AddressKey | None, outbound: AddressKey | None) -> None:
        if inbound is not None and outbound is not None:
            self._registry.pairing.alias(inbound, outbound)
        if outbound is not None:
            self._registry.noteCrossing(outbound, self._crossing())

    def pipeClosed(self, pipe: Pipe) -> None:
        if pipe in self.pipes:
            self.pipes.remove(pipe)
        self._record.pipeClosed()

    def forget(self) -> None:
        self._target = None
        self._port = None
        for pipe in self.pipes:
            pipe.up.stop()
            pipe.down.stop()
        self.pipes = []

    # Inside

    def _both(self) -> tuple[Direction, Direction]:
        return (self.upstream, self.downstream)

    def _abortAll(self) -> Deferred[None]:
        waits = []
        for pipe in list(self.pipes):
            waiter: Deferred[None] = Deferred()
            pipe.waiters.append(waiter)
            waits.append(waiter)
            pipe.abort()
        done = DeferredList(waits, consumeErrors=True)
        return done.addCallback(lambda ignored: None)

    def _listen(self, target: PortRecord | None) -> None:
        factory = RelayFactory(self)
        with quietly(self.reactor):
            if self._unix:
                port = self.reactor.listenUNIX(self._path, factory, mode=0o600)
            else:
                if target is not None:
                    targetPort: Any = target.port
                    host = targetPort.getHost().host
                    self._host = _LOOPBACK.get(host, host)
                port = self.reactor.listenTCP(
                    self._number, factory, interface=self._host
                )
                self._number = port.getHost().port
        self._port = port
        self._registry.addPort(
            port, self._origin, self.frontTransport, socketPath=self._path
        )
        self._registry.noteCrossing(addressKey(port.getHost()), self._crossing())

    def _frontText(self) -> str:
        return _describe(self.frontAddress())

    def _crossing(self) -> str:
        return f"link {self._frontText()} -> {self._targetText} (seed {self.seed})"


async def _nothing() -> None:
    pass


def _text(name: str | bytes) -> str:
    return os.fsdecode(name)


def _describe(address: object) -> str:
    if isinstance(address, UNIXAddress) and address.name:
        return _text(address.name)
    return describeAddress(address)
