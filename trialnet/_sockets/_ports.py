# -*- test-case-name: tests.sockets.test_closing,tests.sockets.test_transports -*-
"""
Listening ports, observed on the port instance itself: its C{stopListening}
(and C{loseConnection}, the same call) so that it is stopped exactly once
whoever asks first; its C{startListening}, so that a port started again is
stopped again; and its C{doRead}, so that a protocol its factory builds is
known to be a server end of this very port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IAddress, IListeningPort, IProtocolFactory
from twisted.python.failure import Failure
from twisted.python.reflect import qual

from .._core._lifecycle import (
    PORT_MOVES,
    ImpossibleMoveError,
    PortEvent,
    PortState,
)
from .._core._patch import (
    NOTHING_SET,
    claimedBy,
    patchIn,
    patchNames,
    unpatch,
    unpatchNames,
)
from .._core._record import STOP_ACCEPTING, Record, fireAll
from .._core._report import Leftover, Origin
from ._addresses import AddressKey, addressKey, describeAddress
from ._transports import Transport, ensureSocketFile, releaseSocket

# The tracked ports accepting a connection right now, innermost last: a
# factory's buildProtocol called from there builds a server end of that port.
# Read once: a member read through its enum class costs a Python-level
# lookup (Python 3.11), and these are read for every test.
_LISTENING = PortState.LISTENING
_IDLE = PortState.IDLE
_STOPPED = PortState.STOPPED
_ON_START = PortEvent.START
_ON_STOP = PortEvent.STOP
_ON_STOPPED = PortEvent.STOPPED


_accepting: list[PortRecord] = []


class PortRecord(Record):
    """
    A tracked listening port.

    @ivar port: The port; dropped at the teardown.
    @ivar transport: Which kind of port it is.
    @ivar state: Where it is, moved by L{PORT_MOVES} only.
    @ivar stopFailure: How stopping failed, if it did.
    @ivar socketPath: A UNIX port's socket path in its private directory.
    @ivar hostKey: Its address, when it listened.
    """

    stage = STOP_ACCEPTING
    role = "port"

    # What a port keeps as it starts, read from the class until it sets its
    # own (see End).
    stopFailure: Failure | None = None
    hostKey: AddressKey | None = None
    address: Any = None
    # Whether it is idle or stopped: set beside its state (see End.settled).
    settled = False

    def __init__(
        self,
        port: IListeningPort,
        origin: Origin,
        transport: Transport,
        onSettled: Callable[[Record], None],
        reactor: Any,
        observed: bool = False,
        socketPath: str = "",
        listening: bool = True,
    ) -> None:
        # Record's three attributes, set here as End sets them (no super()
        # call: shaped for speed, a port a test).
        self.origin = origin
        self.observed = observed
        self._onSettled = onSettled
        self.port: IListeningPort | None = port
        self.transport = transport
        self._reactor = reactor
        self.state = _LISTENING if listening else _IDLE
        self.settled = not listening
        self.socketPath = socketPath
        # Named, as its address is described, only for a report.
        self._class = type(port)
        self._waiters: list[Deferred[None]] = []
        self._recordAddress()
        if claimedBy(port, "port", PortRecord, "stopListening"):
            raise ValueError(
                "this port is already tracked by another trialnet Network; "
                "a port can belong to one Network at a time"
            )
        cls = type(port)
        self._originalStop: Callable[[], object] = port.stopListening
        replacements: dict[str, object] = {"stopListening": self.stopListening}
        if getattr(cls, "loseConnection", None) is getattr(cls, "stopListening", 0):
            replacements["loseConnection"] = self.stopListening
        self._originalStart = getattr(port, "startListening", None)
        if self._originalStart is not None:
            replacements["startListening"] = self._startListening
        self._originalRead = getattr(port, "doRead", None)
        if transport.stream and self._originalRead is not None:
            replacements["doRead"] = self._doRead
        # Each name patched on the port, with what to put back (see
        # patchNames): kept here rather than in an InstancePatch.
        self._saved = patchNames(port, replacements)

    @property
    def kind(self) -> str:
        return qual(self._class)

    @property
    def listening(self) -> bool:
        """
        Whether the teardown has to stop it.
        """
        return self.state is _LISTENING

    def _move(self, event: PortEvent) -> PortState:
        before = self.state
        # The table's move(), written out (as an end's): one call fewer.
        try:
            self.state = state = PORT_MOVES[before, event]
        except KeyError:
            raise ImpossibleMoveError(self, before, event) from None
        # Kept beside the state, as an end keeps it.
        self.settled = state is _IDLE or state is _STOPPED
        return before

    # What the application calls

    def stopListening(self, *args: object) -> Deferred[None]:
        """
        Stop the port, once.

        @return: A new L{Deferred<twisted.internet.defer.Deferred>} with the
            outcome of the one real stop.
        """
        self._beginStop()
        return self._whenStopped().addCallback(self._raiseStopFailure)

    def _startListening(self) -> None:
        assert self._originalStart is not None
        self._originalStart()
        self._recordAddress()
        self._move(_ON_START)
        self.stopFailure = None

    def _doRead(self) -> object:
        assert self._originalRead is not None
        _accepting.append(self)
        try:
            return self._originalRead()
        finally:
            _accepting.pop()

    # The teardown

    def close(self) -> None:
        if self.state is _LISTENING:
            self._beginStop()

    def abort(self, waited: float) -> Leftover:
        return self.leftover(f"still listening after {waited:.2f}s")

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if not self.settled:
            releaseSocket(self._reactor, self.port)
            self._stopDone(None)
        return leftover

    def finalReport(self) -> Leftover | None:
        failure = self.stopFailure
        if failure is None:
            return None
        releaseSocket(self._reactor, self.port)
        return self.leftover(f"failed to stop: {failure.getErrorMessage()}")

    def forget(self) -> None:
        unpatchNames(self.port, self._saved)
        self._saved.clear()
        self.port = None

    def leftover(self, action: str, **details: str) -> Leftover:
        return Leftover(
            role="port",
            origin=self.origin,
            action=action,
            kind=self.kind,
            local="" if self.address is None else describeAddress(self.address),
        )

    # Inside

    def _beginStop(self) -> None:
        if self._move(_ON_STOP) not in _BEFORE_STOP:
            return
        if self.socketPath:
            # Stopping a UNIX port unlinks its socket file first; were the
            # file gone, the stop would fail midway and leak the socket.
            try:
                ensureSocketFile(self.socketPath)
            except OSError:
                # Not even a placeholder fits (its directory was replaced):
                # the port's own stop would fail, so close its socket here.
                failure = Failure()
                releaseSocket(self._reactor, self.port)
                self._stopDone(failure)
                return
        maybeDeferred(self._originalStop).addBoth(self._stopDone)

    def _stopDone(self, result: object) -> None:
        self._move(_ON_STOPPED)
        self.stopFailure = result if isinstance(result, Failure) else None
        if self._waiters:
            # Checked here: most ports have nobody waiting, and no call is
            # made (as an end's closeWaiters).
            fireAll(self._waiters, None)
        # Record._settle(), written out: one call fewer a port.
        self._onSettled(self)

    def _whenStopped(self) -> Deferred[None]:
        result: Deferred[None] = Deferred()
        if self.settled:
            result.callback(None)
        else:
            self._waiters.append(result)
        return result

    def _raiseStopFailure(self, ignored: None) -> None:
        if self.stopFailure is not None:
            self.stopFailure.raiseException()

    def _recordAddress(self) -> None:
        try:
            address = self.port.getHost()  # type: ignore[union-attr]
        except Exception:
            # A port adopted with track() after it stopped has no address.
            return
        self.address = address
        self.hostKey = addressKey(address)


#: The states a port's one real stop begins from.
_BEFORE_STOP = frozenset([_IDLE, _LISTENING])


class ServerBuilds(Protocol):
    """
    What a factory hook tells its registry.
    """

    def serverAccepting(self, port: PortRecord) -> AddressKey | None: ...

    def serverBuilt(
        self, port: PortRecord, protocol: Any, pairKey: AddressKey | None
    ) -> Any: ...


class FactoryHook:
    """
    Observes the protocols a server factory builds for the tracked ports
    that use it, by setting C{buildProtocol} on the factory instance; the
    factory itself stays what the port holds.  A protocol it builds for
    anything else (the same factory used to connect, peer to peer) is left
    alone.

    @ivar ports: The tracked ports that use this factory.
    """

    def __init__(self, factory: IProtocolFactory, registry: ServerBuilds) -> None:
        if claimedBy(factory, "factory", FactoryHook, "buildProtocol"):
            raise ValueError(
                "this factory is already tracked by another trialnet Network; "
                "a factory can belong to one Network at a time"
            )
        self._factory: Any = factory
        self._originalBuild = factory.buildProtocol
        self._registry = registry
        self.ports: list[PortRecord] = []
        # What buildProtocol was, kept here (see patchIn).
        self._saved = patchIn(factory, "buildProtocol", self._buildProtocol)

    def _buildProtocol(self, addr: IAddress) -> Any:
        port = _accepting[-1] if _accepting else None
        if port is None or port not in self.ports:
            return self._originalBuild(addr)
        # Counted before building: the kernel connected, whatever comes of it.
        # Only a port whose ends pair in order (UNIX) counts: no call for the
        # others, at every connection.
        pairKey = (
            self._registry.serverAccepting(port)
            if port.transport.pairsInOrder
            else None
        )
        protocol = self._originalBuild(addr)
        if protocol is None:
            return None
        return self._registry.serverBuilt(port, protocol, pairKey)

    def remove(self) -> None:
        """
        Restore the factory's own C{buildProtocol}.
        """
        saved, self._saved = self._saved, NOTHING_SET
        unpatch(self._factory, "buildProtocol", saved)
        self._factory = None
        self.ports.clear()
