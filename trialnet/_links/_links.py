# -*- test-case-name: tests.links.test_links,tests.links.test_linkTeardown -*-
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

import random
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IListeningPort
from twisted.python import log

from .._core._report import Origin
from .._sockets._ports import PortRecord
from .._sockets._targets import PortFront
from ._conditions import Direction
from ._relay import Relay, ServedElsewhere

_L = TypeVar("_L")


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
    L{INetworkLinks.link<trialnet.INetworkLinks.link>}.  A link is a
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
        target: PortRecord | ServedElsewhere,
        seed: int,
    ) -> None:
        self.seed = seed
        self.frontTransport = target.transport
        self.upstream = Direction("upstream", seed)
        self.downstream = Direction("downstream", seed)
        self._relay = Relay(
            reactor,
            registry,
            origin,
            target,
            (self.upstream, self.downstream),
            seed,
        )
        log.msg(f"trialnet: {self!r} opened at {origin}")

    def __repr__(self) -> str:
        relay = self._relay
        return f"<Link {relay.frontText} -> {relay.targetText} seed={self.seed}>"

    # Conditions of both directions

    def latency(self, seconds: float, jitter: float = 0.0) -> None:
        """
        Delay each direction by C{seconds} (one way), give or take up to
        C{jitter}, drawn from the link's seeded random source per chunk of
        bytes read; see
        L{Direction.latency<trialnet._links._conditions.Direction.latency>}.
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
        if self._relay.port is None and not self._relay.closing:
            self.up()

    # The link itself

    def reset(self) -> Deferred[None]:
        """
        Abort every connection through the link: both the client and the
        server see a reset.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            once the relay's connections are gone.
        """
        return self._relay.abortAll()

    def down(self) -> Deferred[None]:
        """
        Stop accepting at the link's address (a new C{connect()} is refused
        with the reactor's own error) and abort every connection through it.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            once the port stopped and the connections are gone.
        """
        return self._relay.stop()

    def up(self) -> None:
        """
        Listen again at the same address (the same port number, or the same
        UNIX path), so that the addresses handed out stay valid; nothing
        when it listens already.

        @raise RuntimeError: If the test's teardown began.
        @raise twisted.internet.error.CannotListenError: If the address is
            taken.
        """
        if self._relay.port is None:
            self._relay.listen()

    def getHost(self) -> IAddress:
        """
        @return: The link's address, where clients connect: an
            L{IPv4Address<twisted.internet.address.IPv4Address>},
            L{IPv6Address<twisted.internet.address.IPv6Address>} or
            L{UNIXAddress<twisted.internet.address.UNIXAddress>}.
        """
        return self._relay.address

    # A target, for the opener

    def frontAddress(self) -> Any:
        """
        @return: L{getHost}'s address: where C{connect()} goes, even while
            the link is down.
        """
        return self._relay.address

    def frontPort(self) -> IListeningPort | None:
        """
        @return: The relay's listening port now, or C{None} while the link
            is down.
        """
        return self._relay.port

    def frontTarget(self) -> IListeningPort | None:
        """
        @return: The port the link stands in front of, until its test
            closed.
        """
        return self._relay.target

    # Inside

    def _both(self) -> tuple[Direction, Direction]:
        return (self.upstream, self.downstream)


def linkTarget(
    registry: Any, target: object, method: str, stream: bool
) -> PortRecord | ServedElsewhere:
    """
    Check what a link is to stand in front of.

    @param method: C{"link"} or C{"datagramLink"}, for the errors.
    @param stream: Whether it must be a stream port, rather than UDP.
    @return: The registry's record of C{target}.
    @raise TypeError: If C{target} is not a port of the registry's network.
    @raise ValueError: If it is of the other kind, or not listening.
    """
    if isinstance(target, PortFront) and target.servedElsewhere and stream:
        # A server child: the relay connects on to where it serves.
        problem = target.frontProblem()
        if problem is not None:
            raise ValueError(str(problem))
        return ServedElsewhere(target)
    record = registry.portOf(target) if IListeningPort.providedBy(target) else None
    if record is None:
        kinds = "a TCP, TLS or UNIX port" if stream else "a UDP port"
        raise TypeError(
            f"{method}() takes {kinds} of this test (opened through it, or by "
            f"the code under test), not {target!r}"
        )
    if record.transport.stream != stream:
        other = "datagramLink()" if stream else "link()"
        raise ValueError(f"{method}() does not take {target!r}: use {other}")
    if not record.listening or record.port is None:
        raise ValueError(f"{method}() takes a listening port; {target!r} is stopped")
    return record  # type: ignore[no-any-return]


def openLink(
    kind: Callable[[Any, Any, Origin, Any, int], _L],
    method: str,
    where: tuple[Any, Any, Origin],
    target: object,
    seed: object,
) -> _L:
    """
    Check the arguments of C{link()} or C{datagramLink()}, then open the
    link.

    @param kind: L{Link}, or L{DatagramLink<trialnet._links._datagrams.DatagramLink>}.
    @param method: C{"link"} or C{"datagramLink"}, for the errors.
    @param where: The reactor, the registry and the origin of the link.
    """
    reactor, registry, origin = where
    record = linkTarget(registry, target, method, method == "link")
    return kind(reactor, registry, origin, record, newSeed(seed))
