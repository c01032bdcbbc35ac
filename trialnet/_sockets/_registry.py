# -*- test-case-name: tests.sockets.test_track,tests.sockets.test_closing -*-
"""
The registry of what one network has open: a record for every port,
connection end, client attempt, connector, pool, service and pending listen,
whoever opened it; the index behind C{serverProtocolFor} and C{whenClosed};
and what records tell on their way to the teardown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence, Set
from types import MappingProxyType
from typing import Any

from twisted.internet.address import UNIXAddress
from twisted.internet.interfaces import IConnector, IListeningPort, IProtocol
from twisted.python import log

from .._core._owners import forgetPooled
from .._core._patch import ownedBy
from .._core._record import (
    Hook,
    IRecord,
    PendingListen,
    PoolRecord,
    Record,
    ServiceRecord,
)
from .._core._report import Origin
from ._addresses import AddressKey, portServes
from ._clients import ClientAttempt
from ._connectors import ConnectorRecord
from ._ends import End
from ._pairing import Pairing
from ._ports import FactoryHook, PortRecord
from ._transports import (
    Transport,
    applicationFactory,
    removeSocketDirectory,
    socketTransport,
    transportOf,
)


class _Listener:
    """
    What a registry tells before the teardown subscribes: nothing.
    """

    def opened(self, record: IRecord) -> None:
        pass

    def settled(self, record: IRecord) -> None:
        pass

    def hooked(self, hook: Hook) -> None:
        pass


#: What the containers that most tests never fill start as, until the first
#: entry: read like an empty one, and one container fewer to make for every
#: test (written to, it raises rather than be shared).
_NONE_YET: Any = MappingProxyType({})
#: The same for the list of teardown hooks: an empty sequence.
_NO_HOOKS: Any = ()


class Registry:
    """
    Everything one network opened or adopted.

    @ivar reactor: The reactor it all belongs to.
    @ivar readersAtClose: What the reactor read from when the teardown began,
        for the report.
    @ivar pairing: Which end is whose.
    """

    def __init__(self, reactor: Any, configure: Callable[[IProtocol], None]) -> None:
        self.reactor = reactor
        self.readersAtClose: Set[object] = frozenset()
        self.pairing = Pairing()
        self._configure = configure
        self._listener: Any = _Listener()
        #: What every record calls as it settles: the listener's own method
        #: once one subscribed (see L{subscribe}).
        self.tellSettled: Callable[[Any], None] = self._settled
        self._records: list[IRecord] = []
        # Shaped for speed (a registry for every test): these three are made
        # at their first entry (see _NONE_YET).
        self._teardownHooks: list[Hook] = _NO_HOOKS
        self._ends: dict[int, End] = {}
        self._ports: dict[int, PortRecord] = {}
        self._hooks: dict[int, FactoryHook] = {}
        self._connectors: dict[int, ConnectorRecord] = _NONE_YET
        self._crossings: dict[AddressKey, str] = _NONE_YET

    # What the teardown asks

    def subscribe(self, listener: Any) -> None:
        """
        Tell C{listener} (the teardown) of every record opened and settled.

        The teardown subscribes once, as it is made, before anything is
        opened: the records made from then on call its C{settled}
        directly, one call fewer each time one settles.  (A record made
        before still tells it, through L{_settled}.)
        """
        self._listener = listener
        self.tellSettled = listener.settled

    def records(self) -> Iterable[IRecord]:
        return self._records

    def teardownHooks(self) -> Sequence[Hook]:
        return self._teardownHooks

    def beginClose(self) -> None:
        self.readersAtClose = set(self.reactor.getReaders())

    def forget(self) -> None:
        """
        Undo every observation, remove private directories, and drop every
        reference to what was open.
        """
        if self._ends:
            # Pools that cached this network's connections let them go too.
            forgetPooled(self.reactor, self.endOf)
        for record in self._records:
            try:
                record.forget()
            except Exception:
                log.err(None, "trialnet teardown: error while forgetting a record")
        for teardownHook in self._teardownHooks:
            try:
                teardownHook.forget()
            except Exception:
                log.err(None, "trialnet teardown: error while forgetting a hook")
        for hook in self._hooks.values():
            hook.remove()
        for port in self._ports.values():
            if port.socketPath:
                removeSocketDirectory(port.socketPath)
        self.pairing.release()
        self._records = []
        self._teardownHooks = _NO_HOOKS
        self._ends.clear()
        self._ports.clear()
        self._hooks.clear()
        self._connectors = _NONE_YET
        self._crossings = _NONE_YET
        self.readersAtClose = frozenset()

    # Looking up

    def endOf(self, protocol: object) -> End | None:
        # Any protocol of its chain: a ClientService hands out the one
        # inside the proxy it connected.
        end = self._ends.get(id(protocol))
        if end is not None:
            # A loop, not any() over a generator: asked for every end.
            for known in end.chain:
                if known is protocol:
                    return end
        return None

    def portOf(self, port: object) -> PortRecord | None:
        return self._ports.get(id(port))

    def ports(self) -> list[PortRecord]:
        return list(self._ports.values())

    def portAt(self, key: AddressKey | None) -> PortRecord | None:
        """
        The stream port that an end with peer address C{key} connected to.
        """
        if key is not None:
            for port in self._ports.values():
                if (
                    port.transport.stream
                    and port.hostKey is not None
                    and portServes(port.hostKey, key)
                ):
                    return port
        return None

    # Adding

    def hook(self, factory: object) -> FactoryHook:
        """
        Observe the protocols a server factory builds for this network's
        ports.
        """
        hook = self._hooks.get(id(factory))
        if hook is None:
            hook = FactoryHook(factory, self)  # type: ignore[arg-type]
            self._hooks[id(factory)] = hook
        return hook

    def unhook(self, hook: FactoryHook) -> None:
        """
        Stop observing a factory none of whose ports opened.
        """
        if not hook.ports:
            for key, value in list(self._hooks.items()):
                if value is hook:
                    del self._hooks[key]
            hook.remove()

    def addPort(
        self,
        port: IListeningPort,
        origin: Origin,
        transport: Transport | None = None,
        hook: FactoryHook | None = None,
        observed: bool = False,
        socketPath: str = "",
        listening: bool = True,
    ) -> PortRecord:
        """
        Record a listening port; with a factory hook, its connections too.
        """
        known = self._ports.get(id(port))
        if known is not None:
            # Observed as the code under test's, then given to trialnet.
            known.observed = known.observed and observed
            return known
        # By position, as newEnd makes an end (shaped for speed).
        record = PortRecord(
            port,
            origin,
            transport or transportOf(port),
            self.tellSettled,
            self.reactor,
            observed,
            socketPath,
            listening,
        )
        self._ports[id(port)] = record
        if hook is not None:
            hook.ports.append(record)
        # _add(record), written out: shaped for speed, one call fewer a port.
        self._records.append(record)
        self._listener.opened(record)
        return record

    def adoptPort(self, port: IListeningPort, origin: Origin, observed: bool) -> None:
        """
        Record a port opened without trialnet, and the connections it
        accepts (its application's factory, inside TLS, is observed).
        """
        known = self._ports.get(id(port))
        if known is not None:
            known.observed = known.observed and observed
            return
        factory = applicationFactory(getattr(port, "factory", None))
        transport = transportOf(port)
        hook = None
        if (
            transport.stream
            and hasattr(factory, "buildProtocol")
            and hasattr(factory, "__dict__")
        ):
            hook = self.hook(factory)
        self.addPort(
            port,
            origin,
            transport,
            hook,
            observed=observed,
            listening=bool(getattr(port, "connected", True)),
        )

    def newEnd(
        self,
        role: str,
        origin: Origin,
        protocol: IProtocol,
        observed: bool = False,
        attempt: Any = None,
        pairKey: AddressKey | None = None,
        port: PortRecord | None = None,
    ) -> End:
        """
        Record a connection end (its protocol is observed once the caller
        says how).
        """
        # Every argument given by position: shaped for speed, for a class
        # called with keywords makes a dictionary of them on the way to its
        # __init__ (about 0.7 microseconds an end; a function does not).
        end = End(role, origin, protocol, self, observed, attempt, port, pairKey)
        self._configure(end.application)
        # _index(end), written out: one call fewer for every end.
        ends = self._ends
        for protocol in end.chain:
            ends[id(protocol)] = end
        self._records.append(end)
        return end

    def _index(self, end: End) -> None:
        """
        File C{end} under every protocol of its chain (a loop, not a
        generator: it runs twice for every end).
        """
        ends = self._ends
        for protocol in end.chain:
            ends[id(protocol)] = end

    def adoptProtocol(
        self, protocol: IProtocol, origin: Origin, role: str, observed: bool = False
    ) -> End | None:
        """
        Record a protocol that is connected already.

        @raise ValueError: If it is not connected.
        """
        known = self.endOf(protocol)
        if known is not None and not known.closed:
            known.observed = known.observed and observed
            return known
        transport = getattr(protocol, "transport", None)
        if transport is None or not getattr(protocol, "connected", True):
            raise ValueError(
                f"track() takes a connected protocol; {protocol!r} is not connected"
            )
        if ownedBy(socketTransport(transport), "connectionLost", End):
            # Its connection is observed already, through another protocol.
            return None
        end = self.newEnd(role, origin, protocol, observed=observed)
        end.adoptConnected(transport)
        self.endMade(end)
        return end

    def addAttempt(
        self, factory: Any, protocol: IProtocol | None, origin: Origin
    ) -> ClientAttempt:
        """
        Record one C{connect()}, of a factory or of one protocol instance.
        """
        attempt = ClientAttempt(factory, protocol, origin, self, self.tellSettled)
        # _add(attempt), written out: one call fewer a connect (as addPort).
        self._records.append(attempt)
        self._listener.opened(attempt)
        return attempt

    def addConnector(
        self, connector: IConnector, origin: Origin, observed: bool
    ) -> ConnectorRecord:
        """
        Record a connector trialnet did not make, and every connection it
        makes; one that is connected already has its protocol adopted.
        """
        known = self._connectors.get(id(connector))
        if known is not None:
            known.observed = known.observed and observed
            return known
        record = ConnectorRecord(connector, origin, self, self.tellSettled, observed)
        if self._connectors is _NONE_YET:
            self._connectors = {}
        self._connectors[id(connector)] = record
        self._add(record)
        protocol = record.connectedProtocol()
        if protocol is not None:
            self.adoptProtocol(protocol, origin, "client", observed)
        return record

    def addPool(self, pool: object, origin: Origin) -> None:
        self._add(PoolRecord(pool, origin, self.tellSettled, self.reactor))

    def addService(self, service: object, origin: Origin) -> None:
        self._add(ServiceRecord(service, origin, self.tellSettled, self.reactor))

    def addPendingListen(self, origin: Origin) -> PendingListen:
        record = PendingListen(origin, self.tellSettled)
        self._add(record)
        return record

    def addRecord(self, record: Record) -> None:
        """
        Add a record of a kind the registry does not make itself (a link's
        connections).
        """
        self._add(record)

    def addHook(self, hook: Hook) -> None:
        """
        Add a step the teardown runs and never waits for (a name map, a
        datagram link's queues, a wait for a call or a handshake).
        """
        if self._teardownHooks is _NO_HOOKS:
            self._teardownHooks = []
        self._teardownHooks.append(hook)
        self._listener.hooked(hook)

    def _add(self, record: Record) -> None:
        self._records.append(record)
        self._listener.opened(record)

    # What records tell

    def _settled(self, record: IRecord) -> None:
        self._listener.settled(record)

    def reopened(self, record: IRecord) -> None:
        self._listener.opened(record)

    def endMade(self, end: End) -> None:
        if end.rechained:
            # Its chain now reaches from what the reactor's transport holds.
            self._index(end)
        self.pairing.endMade(end)
        if end.attempt is not None:
            end.attempt.made(end)
        # A server end accepted after the ports stopped is closed at once.
        self._listener.opened(end)

    def serverAccepting(self, port: PortRecord) -> AddressKey | None:
        if port.transport.pairsInOrder and port.hostKey is not None:
            return self.pairing.nextKey("server", port.hostKey[1])
        return None

    def serverBuilt(
        self, port: PortRecord, protocol: Any, pairKey: AddressKey | None
    ) -> Any:
        try:
            end = self.newEnd(
                "server",
                port.origin,
                protocol,
                observed=port.observed,
                port=port,
                pairKey=pairKey,
            )
        except (TypeError, ValueError):
            log.err(
                None,
                "trialnet refused a connection its factory's protocol cannot serve",
            )
            return None
        end.watchConnect()
        return protocol

    def clientPairKey(self, addr: object) -> AddressKey | None:
        if isinstance(addr, UNIXAddress) and addr.name:
            return self.pairing.nextKey("client", os.fsdecode(addr.name))
        return None

    # Links

    def recordSettled(self, record: IRecord) -> None:
        """
        A record added with L{addRecord} settled.
        """
        self._settled(record)

    def noteCrossing(self, key: AddressKey, text: str) -> None:
        """
        An end whose peer has address C{key} crossed the link C{text}
        describes.
        """
        if self._crossings is _NONE_YET:
            self._crossings = {}
        self._crossings[key] = text

    def crossing(self, key: AddressKey | None) -> str:
        """
        @return: The link an end whose peer has address C{key} crossed, or
            an empty string.
        """
        return "" if key is None else self._crossings.get(key, "")
