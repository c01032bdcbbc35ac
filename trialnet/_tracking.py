"""
How trialnet observes what it tracks without wrapping it.

The application keeps its own objects: protocols keep the reactor's real
transport, ports keep their factory.  trialnet sets a few attributes on the
instances themselves (a protocol's C{makeConnection} and C{connectionLost}, a
factory's C{buildProtocol}, a port's C{stopListening} and C{startListening}),
calls the original from each, and removes them again as soon as they are no
longer needed, so that nothing the application owns keeps a reference to
trialnet after the teardown.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    IProtocol,
    IProtocolFactory,
)
from twisted.python.failure import Failure
from twisted.python.reflect import qual

from ._report import Origin, describeAddress
from ._transports import ensureSocketFile, releaseSocket

_MISSING = object()

#: C{(family, host or path, port or sequence number)}: what identifies one
#: end of a connection, or a port.
AddressKey = tuple[str, str, int]

_ANY_HOSTS = frozenset({"0.0.0.0", "::"})
_FAMILIES = {"TCP": "tcp", "UDP": "udp"}


def addressKey(address: IAddress | None) -> AddressKey | None:
    """
    Reduce an address to what identifies one end of a connection.

    @param address: An L{IPv4Address<twisted.internet.address.IPv4Address>},
        L{IPv6Address<twisted.internet.address.IPv6Address>} or
        L{UNIXAddress<twisted.internet.address.UNIXAddress>}.
    @return: C{("tcp" or "udp", host, port)} for IP addresses, C{("unix",
        path, 0)} for a UNIX address with a path, else C{None}.
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        return (_FAMILIES.get(address.type, "tcp"), address.host, address.port)
    name = getattr(address, "name", None)
    if isinstance(name, (str, bytes)):
        return ("unix", os.fsdecode(name), 0)
    return None


def portServes(portKey: AddressKey, key: AddressKey) -> bool:
    """
    Whether a port with address C{portKey} is the one an end with address
    C{key} belongs to (its local address for a server end, its peer's for a
    client end).
    """
    family, host, number = key
    if portKey[0] != family:
        return False
    if family == "unix":
        return portKey[1] == host
    return portKey[2] == number and (portKey[1] == host or portKey[1] in _ANY_HOSTS)


class _InstancePatch:
    """
    Attributes set on one object's instance dictionary, each restorable to
    exactly what was there before.
    """

    def __init__(self, target: object) -> None:
        self._target = target
        self._instanceDict = vars(target)
        self._saved: dict[str, object] = {}
        self._throughDescriptor: set[str] = set()

    def set(self, name: str, value: object) -> None:
        if _isDataDescriptor(type(self._target), name):
            # The class routes this attribute elsewhere (a proxy such as
            # twisted.web's HTTP channel hands it to the object it wraps):
            # an instance attribute would never be seen, so set it the way
            # the class wants it set.
            self._throughDescriptor.add(name)
            setattr(self._target, name, value)
            return
        self._saved.setdefault(name, self._instanceDict.get(name, _MISSING))
        self._instanceDict[name] = value

    def restore(self, name: str) -> None:
        if name in self._throughDescriptor:
            self._throughDescriptor.discard(name)
            with contextlib.suppress(AttributeError):
                delattr(self._target, name)
            return
        previous = self._saved.pop(name, _MISSING)
        if previous is _MISSING:
            self._instanceDict.pop(name, None)
        else:
            self._instanceDict[name] = previous

    def restoreAll(self) -> None:
        for name in list(self._saved) + list(self._throughDescriptor):
            self.restore(name)


_dataDescriptors: dict[tuple[type, str], bool] = {}


def _isDataDescriptor(cls: type, name: str) -> bool:
    """
    Whether C{cls} defines C{name} as a data descriptor, which takes
    precedence over an instance attribute of the same name.
    """
    key = (cls, name)
    known = _dataDescriptors.get(key)
    if known is None:
        attribute = inspect.getattr_static(cls, name, None)
        known = hasattr(type(attribute), "__set__")
        _dataDescriptors[key] = known
    return known


def _patchable(thing: object, what: str) -> _InstancePatch:
    """
    @raise TypeError: When C{thing} has no instance dictionary (its class
        defines C{__slots__}), so trialnet cannot observe it.
    """
    if not hasattr(thing, "__dict__"):
        raise TypeError(
            f"trialnet cannot observe {what} {qual(type(thing))}: its instances "
            f"have no __dict__ (the class defines __slots__); add '__dict__' to "
            f"__slots__ or use a class without __slots__"
        )
    return _InstancePatch(thing)


def _refuseSecondOwner(thing: object, name: str, owner: type, what: str) -> None:
    """
    @raise ValueError: When another trialnet L{Network} already observes
        C{thing}: one of them would undo the other's observation.
    """
    if isinstance(getattr(vars(thing).get(name), "__self__", None), owner):
        raise ValueError(
            f"this {what} is already tracked by another trialnet Network; "
            f"a {what} can belong to one Network at a time"
        )


class Connection:
    """
    One tracked connection end: a client, a server, or an adopted protocol.

    @ivar role: C{"client"}, C{"server"} or C{"tracked"}.
    @ivar origin: The line that opened it (for servers, the C{listen} call).
    @ivar protocol: The application's protocol; dropped at the teardown.
    @ivar transport: The reactor's transport while connected, else C{None}.
    @ivar hostKey: The local C{(host, port)} recorded when it connected.
    @ivar peerKey: The peer's C{(host, port)} recorded when it connected.
    @ivar open: Whether C{connectionMade} ran and C{connectionLost} has not.
    @ivar closed: Whether C{connectionLost} ran.
    @ivar attempt: The client attempt this end was built for, if any.
    @ivar pairKey: For a UNIX end, the key that pairs it with its other end,
        given when its protocol was built.
    @ivar claimed: Whether L{trialnet.Network.serverProtocolFor} or
        L{trialnet.Network.acceptedProtocol} already handed out this end.
    @ivar closeWaiters: Deferreds to fire when it closed.
    """

    def __init__(
        self,
        role: str,
        origin: Origin,
        protocol: IProtocol,
        onMade: Callable[[Connection], None],
        onLost: Callable[[Connection], None],
    ) -> None:
        self.role = role
        self.origin = origin
        self.protocol: IProtocol | None = protocol
        self.transport: Any = None
        self.hostKey: AddressKey | None = None
        self.peerKey: AddressKey | None = None
        self._hostAddress: object = None
        self._peerAddress: object = None
        self.open = False
        self.closed = False
        self.attempt: Any = None
        self.pairKey: AddressKey | None = None
        self.claimed = False
        self.closeWaiters: list[Deferred[None]] = []
        self._onMade = onMade
        self._onLost = onLost
        self._patch = _patchable(protocol, "protocol")
        if isinstance(
            getattr(vars(protocol).get("connectionLost"), "__self__", None), Connection
        ):
            raise ValueError(
                f"{qual(type(protocol))} instance is already connected through "
                f"trialnet; a protocol instance serves one connection at a "
                f"time, so pass a factory to open several"
            )
        self._originalMake = protocol.makeConnection
        self._originalLost = protocol.connectionLost

    @property
    def kind(self) -> str:
        """
        The protocol's qualified class name, for the report.
        """
        return qual(type(self.protocol))

    @property
    def hostText(self) -> str:
        """
        The local address when it connected, for the report.
        """
        return "" if self._hostAddress is None else describeAddress(self._hostAddress)

    @property
    def peerText(self) -> str:
        """
        The peer's address when it connected, for the report.
        """
        return "" if self._peerAddress is None else describeAddress(self._peerAddress)

    def watchConnect(self) -> None:
        """
        Observe both C{makeConnection} and C{connectionLost}, for a protocol
        that is about to be connected.
        """
        self._patch.set("makeConnection", self._makeConnection)
        self._patch.set("connectionLost", self._connectionLost)

    def adoptConnected(self, transport: Any) -> None:
        """
        Observe C{connectionLost} of a protocol that is already connected.
        """
        self._patch.set("connectionLost", self._connectionLost)
        self._recordTransport(transport)

    def detach(self) -> None:
        """
        Remove every attribute set on the protocol and forget it.
        """
        self._patch.restoreAll()
        self.protocol = None
        self.transport = None
        # Nothing is open any more, whether or not it ever connected.
        waiters, self.closeWaiters = self.closeWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _recordTransport(self, transport: Any) -> None:
        self.transport = transport
        host = transport.getHost()
        peer = transport.getPeer()
        self.hostKey = addressKey(host)
        self.peerKey = addressKey(peer)
        self._hostAddress = host
        self._peerAddress = peer
        self.open = True

    def _makeConnection(self, transport: Any) -> None:
        self._patch.restore("makeConnection")
        self._recordTransport(transport)
        try:
            self._originalMake(transport)
        finally:
            self._onMade(self)

    def _connectionLost(self, reason: Failure) -> None:
        self._patch.restore("connectionLost")
        try:
            self._originalLost(reason)
        except BaseException:
            if self.attempt is not None:
                self.attempt.protocolLostRaised()
            raise
        finally:
            self.open = False
            self.closed = True
            self.transport = None
            self._onLost(self)


class FactoryHook:
    """
    Observes every protocol a server factory builds, by setting
    C{buildProtocol} on the factory instance; the factory itself stays what
    the port holds.

    @ivar ports: The tracked ports that use this factory.
    """

    def __init__(
        self,
        factory: IProtocolFactory,
        onBuilt: Callable[[FactoryHook, Any], Any],
        onRefused: Callable[[FactoryHook], None],
    ) -> None:
        self._patch = _patchable(factory, "factory")
        _refuseSecondOwner(factory, "buildProtocol", FactoryHook, "factory")
        self._originalBuild = factory.buildProtocol
        self._onBuilt = onBuilt
        self._onRefused = onRefused
        self.ports: list[Port] = []
        self._patch.set("buildProtocol", self._buildProtocol)

    def _buildProtocol(self, addr: IAddress) -> Any:
        protocol = self._originalBuild(addr)
        if protocol is None:
            self._onRefused(self)
            return None
        return self._onBuilt(self, protocol)

    def remove(self) -> None:
        """
        Restore the factory's own C{buildProtocol}.
        """
        self._patch.restoreAll()
        self.ports.clear()


class Port:
    """
    A tracked listening port.

    Its C{stopListening} is observed so that the port is stopped exactly
    once whoever asks first (a second call gets the same outcome instead of
    a failure or an orphaned Deferred), and its C{startListening} so that a
    port started again is stopped again at the teardown.

    @ivar port: The port; dropped at the teardown.
    @ivar listening: Whether the port should be stopped at the teardown.
    @ivar stopFailure: How stopping failed, if it did.
    @ivar family: C{"tcp"}, C{"tls"}, C{"unix"} or C{"udp"}.
    @ivar socketPath: A UNIX port's socket path in its private directory.
    @ivar clientTLS: For a TLS port, the client options that
        L{trialnet.Network.connect} uses by default.
    @ivar unclaimed: Server ends this port accepted that were not handed out
        yet, oldest first.
    @ivar acceptWaiters: Deferreds waiting for the next server end.
    """

    def __init__(
        self,
        port: IListeningPort,
        origin: Origin,
        listening: bool,
        family: str = "tcp",
    ) -> None:
        self.port: IListeningPort | None = port
        self.origin = origin
        self.listening = listening
        self.family = family
        self.socketPath = ""
        self.clientTLS: Any = None
        self.unclaimed: deque[Connection] = deque()
        self.acceptWaiters: deque[Deferred[IProtocol]] = deque()
        self.kind = qual(type(port))
        self.hostKey: AddressKey | None = None
        self.hostText = ""
        self._recordAddress()
        self.stopFailure: Failure | None = None
        self._stopping: Deferred[object] | None = None
        self._stopped = False
        self._waiters: list[Deferred[None]] = []
        self._patch = _patchable(port, "port")
        _refuseSecondOwner(port, "stopListening", Port, "port")
        self._originalStop: Callable[[], object] = port.stopListening
        self._originalStart = getattr(port, "startListening", None)
        self._patch.set("stopListening", self.stopListening)
        if self._originalStart is not None:
            self._patch.set("startListening", self._startListening)

    def stopListening(self) -> Deferred[None]:
        """
        Stop the port, once.

        @return: A new L{Deferred<twisted.internet.defer.Deferred>} with the outcome of
            the one real stop.
        """
        self._beginStop()
        return self._whenStopped(keepFailure=True)

    def stop(self) -> Deferred[None]:
        """
        Stop the port if it is listening, for the teardown.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires when it
            stopped; it never fails (a failure is kept in L{stopFailure}).
        """
        if self.listening:
            self._beginStop()
        if self._stopping is None:
            self._stopped = True
        return self._whenStopped(keepFailure=False)

    def detach(self) -> None:
        """
        Restore the port's own methods and forget it.
        """
        self._patch.restoreAll()
        self.port = None

    def _beginStop(self) -> None:
        if self._stopping is not None:
            return
        if self.socketPath:
            ensureSocketFile(self.socketPath)
        self.listening = False
        self._stopped = False
        self._stopping = maybeDeferred(self._originalStop)
        self._stopping.addBoth(self._stopDone)

    @property
    def stopped(self) -> bool:
        """
        Whether the teardown has nothing more to wait for from this port.
        """
        return self._stopped

    def forceStopped(self, reactor: Any) -> None:
        """
        Release a port whose stop never completed, and count it as stopped.
        """
        self.releaseSocket(reactor)
        self._stopDone(None)

    def releaseSocket(self, reactor: Any) -> None:
        """
        Take the port out of the reactor and close its socket, if it still
        has one (a stop that failed midway leaves it open).
        """
        releaseSocket(reactor, self.port)

    def _recordAddress(self) -> None:
        try:
            address = self.port.getHost()  # type: ignore[union-attr]
        except Exception:
            # A port adopted with track() after it stopped has no address.
            return
        self.hostKey = addressKey(address)
        self.hostText = describeAddress(address)

    def _stopDone(self, result: object) -> None:
        self._stopped = True
        self.stopFailure = result if isinstance(result, Failure) else None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _whenStopped(self, keepFailure: bool) -> Deferred[None]:
        result: Deferred[None] = Deferred()
        if self._stopped:
            result.callback(None)
        else:
            self._waiters.append(result)
        if keepFailure:
            result.addCallback(self._raiseStopFailure)
        return result

    def _raiseStopFailure(self, ignored: None) -> None:
        if self.stopFailure is not None:
            self.stopFailure.raiseException()

    def _startListening(self) -> None:
        assert self._originalStart is not None
        self._originalStart()
        self._recordAddress()
        self.listening = True
        self._stopping = None
        self._stopped = False
        self.stopFailure = None
