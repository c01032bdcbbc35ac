# -*- test-case-name: tests.links.test_datagramLinks -*-
"""
Datagram links: an in-process relay in front of a UDP port of a test, that
drops, duplicates, reorders and delays datagrams, each direction on its own,
from a seeded random source.

Clients send to the link's address; the relay sends each client's datagrams
on to the port from a socket of that client's own (so the server tells the
clients apart, and answers each), and the answers back from the link's
address.  Its sockets are ports of the test, stopped at the teardown, which
also cancels what is still on its way.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IAddress, IListeningPort
from twisted.internet.protocol import DatagramProtocol
from twisted.python import log

from .._core._record import Hook
from .._core._report import Origin
from .._core._seconds import checkSeconds
from .._sockets._addresses import describeAddress, reachableHost
from .._sockets._observe import quietly
from .._sockets._ports import PortRecord

#: Seconds a partly filled reorder window waits before it is sent as it is.
REORDER_FLUSH = 0.05


Send = Callable[[bytes], None]


def _probability(value: object, what: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a probability (a number), not {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{what} must be from 0 to 1, not {value!r}")
    return float(value)


class DatagramDirection:
    """
    The conditions of one direction of a datagram link (C{upstream}, client
    to server, or C{downstream}); they combine, and apply to the datagrams
    that arrive after they are set.

    @ivar name: C{"upstream"} or C{"downstream"}.
    """

    def __init__(self, name: str, seed: int, clock: Any) -> None:
        self.name = name
        self._random = random.Random(f"{seed}/{name}")
        self._clock = clock
        self._timers: list[Any] = []
        self._window: list[tuple[bytes, Send]] = []
        self.clear()

    def __repr__(self) -> str:
        return (
            f"<{self.name} drop={self.dropRate} duplicate={self.duplicateRate} "
            f"reorder={self.window} delay={self.delaySeconds}+-{self.jitter}>"
        )

    def drop(self, probability: float) -> None:
        """
        Lose each datagram with C{probability} (from 0 to 1).

        @raise TypeError: If it is not a number.
        @raise ValueError: If it is not from 0 to 1.
        """
        self.dropRate = _probability(probability, "drop")

    def duplicate(self, probability: float) -> None:
        """
        Deliver each datagram twice with C{probability} (from 0 to 1).

        @raise TypeError: If it is not a number.
        @raise ValueError: If it is not from 0 to 1.
        """
        self.duplicateRate = _probability(probability, "duplicate")

    def reorder(self, window: int) -> None:
        """
        Shuffle the datagrams within windows of C{window} of them (a window
        not filled within a moment is sent as it is).

        @raise TypeError: If it is not an int.
        @raise ValueError: If it is below 1.
        """
        if not isinstance(window, int) or isinstance(window, bool):
            raise TypeError(f"reorder window must be an int, not {window!r}")
        if window < 1:
            raise ValueError(f"reorder window must be at least 1, not {window!r}")
        self.window = window

    def delay(self, seconds: float, jitter: float = 0.0) -> None:
        """
        Delay each datagram by C{seconds}, give or take up to C{jitter}
        (datagrams may then overtake each other, as on a real network).

        @raise TypeError: If either is not an int or a float (a bool is not).
        @raise ValueError: If either is negative, NaN or infinite.
        """
        self.delaySeconds = checkSeconds(seconds, "delay", zero=True)
        self.jitter = checkSeconds(jitter, "jitter", zero=True)

    def clear(self) -> None:
        """
        Back to delivering every datagram once, in order, at once.
        """
        self.dropRate = 0.0
        self.duplicateRate = 0.0
        self.window = 1
        self.delaySeconds = 0.0
        self.jitter = 0.0
        self._flush()

    # The relay

    def carry(self, datagram: bytes, send: Send) -> None:
        """
        Deliver one datagram through C{send} under the conditions.
        """
        if self._random.random() < self.dropRate:
            return
        copies = 2 if self._random.random() < self.duplicateRate else 1
        for _ in range(copies):
            self._window.append((datagram, send))
        if len(self._window) >= self.window:
            self._flush()
        elif len(self._window) == copies:
            self._later(REORDER_FLUSH, self._flush)

    def stop(self) -> None:
        """
        Cancel everything still on its way.
        """
        self._window = []
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers = []

    def _flush(self) -> None:
        window, self._window = self._window, []
        if len(window) > 1 and self.window > 1:
            self._random.shuffle(window)
        for datagram, send in window:
            delay = self.delaySeconds
            if self.jitter:
                delay = max(
                    0.0, delay + self._random.uniform(-self.jitter, self.jitter)
                )
            if delay:
                self._later(delay, send, datagram)
            else:
                send(datagram)

    def _later(self, seconds: float, call: Callable[..., None], *args: Any) -> None:
        self._timers = [timer for timer in self._timers if timer.active()]
        self._timers.append(self._clock.callLater(seconds, call, *args))


class _Front(DatagramProtocol):
    noisy = False

    def __init__(self, link: DatagramLink) -> None:
        self._link = link

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self._link._fromClient(datagram, addr)


class _Outbound(DatagramProtocol):
    noisy = False

    def __init__(self, link: DatagramLink, client: Any) -> None:
        self._link = link
        self._client = client

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        self._link._fromServer(datagram, self._client)


class _DatagramHook(Hook):
    """
    What a datagram link has on its way, for the teardown: cancelled.
    """

    role = "link"

    def __init__(self, link: DatagramLink) -> None:
        self._link: DatagramLink | None = link

    def closing(self) -> None:
        if self._link is not None:
            self._link.upstream.stop()
            self._link.downstream.stop()

    def forget(self) -> None:
        if self._link is not None:
            self._link._forget()
        self._link = None


class DatagramLink:
    """
    A relay in front of a UDP port of the test, made by
    L{INetworkLinks.datagramLink<trialnet.INetworkLinks.datagramLink>}:
    clients send to L{getHost}.  Every condition applies to both directions;
    set one on L{upstream} or L{downstream} for one direction.

    @ivar upstream: The conditions from clients to the server.
    @ivar downstream: The conditions from the server to clients.
    @ivar seed: The seed of its random source: pass it to
        C{datagramLink(port, seed=...)} to replay a run.
    """

    def __init__(
        self, reactor: Any, registry: Any, origin: Origin, target: PortRecord, seed: int
    ) -> None:
        self.seed = seed
        self.upstream = DatagramDirection("upstream", seed, reactor)
        self.downstream = DatagramDirection("downstream", seed, reactor)
        self._reactor = reactor
        self._registry = registry
        self._origin = origin
        targetPort: Any = target.port
        address = targetPort.getHost()
        self._target: tuple[str, int] | None = (
            reachableHost(address.host),
            address.port,
        )
        self._targetText = describeAddress(address)
        self._outbound: dict[Any, IListeningPort] = {}
        self._front: IListeningPort | None = self._listen(_Front(self))
        registry.addHook(_DatagramHook(self))
        log.msg(f"trialnet: {self!r} opened at {origin}")

    def __repr__(self) -> str:
        front = "" if self._front is None else describeAddress(self._front.getHost())
        return f"<DatagramLink {front} -> {self._targetText} seed={self.seed}>"

    def getHost(self) -> IAddress:
        """
        @return: The link's address, where clients send.
        """
        assert self._front is not None, "this link was torn down"
        address: IAddress = self._front.getHost()
        return address

    def drop(self, probability: float) -> None:
        """
        Lose each datagram, each way, with C{probability}.
        """
        for direction in self._both():
            direction.drop(probability)

    def duplicate(self, probability: float) -> None:
        """
        Deliver each datagram, each way, twice with C{probability}.
        """
        for direction in self._both():
            direction.duplicate(probability)

    def reorder(self, window: int) -> None:
        """
        Shuffle datagrams, each way, within windows of C{window}.
        """
        for direction in self._both():
            direction.reorder(window)

    def delay(self, seconds: float, jitter: float = 0.0) -> None:
        """
        Delay each datagram, each way, by C{seconds}, give or take C{jitter}.
        """
        for direction in self._both():
            direction.delay(seconds, jitter)

    def clear(self) -> None:
        """
        Back to a clean pass-through, each way.
        """
        for direction in self._both():
            direction.clear()

    # The relay

    def _fromClient(self, datagram: bytes, client: Any) -> None:
        outbound = self._outbound.get(client)
        if outbound is None:
            if self._target is None:
                return
            outbound = self._outbound[client] = self._listen(_Outbound(self, client))
        target = self._target
        if target is not None:
            self.upstream.carry(datagram, lambda data: _send(outbound, data, target))

    def _fromServer(self, datagram: bytes, client: Any) -> None:
        front = self._front
        if front is not None:
            self.downstream.carry(datagram, lambda data: _send(front, data, client))

    def _forget(self) -> None:
        self._target = None
        self._front = None
        self._outbound = {}

    def _both(self) -> tuple[DatagramDirection, DatagramDirection]:
        return (self.upstream, self.downstream)

    def _listen(self, protocol: DatagramProtocol) -> Any:
        assert self._target is not None
        interface = self._target[0]
        with quietly(self._reactor):
            port = self._reactor.listenUDP(0, protocol, interface)
        self._registry.addPort(port, self._origin)
        return port


def _send(port: Any, datagram: bytes, address: Any) -> None:
    # Lost, as a datagram may be, when the receiver is gone.
    with contextlib.suppress(OSError):
        port.write(datagram, address)
