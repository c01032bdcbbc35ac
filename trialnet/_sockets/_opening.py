# -*- test-case-name: tests.sockets.test_transparency,tests.sockets.test_arguments -*-
"""
Opening for a L{Network<trialnet._network.Network>}: each port and
connection is checked, opened on the reactor without being handed to the
network's own observation, and recorded with the line that asked for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.address import UNIXAddress
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import (
    IConnector,
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol

from .._core._defaults import CONNECT_TIMEOUT
from .._core._report import Origin
from .._core._seconds import checkSeconds
from ._clients import failingAttempts
from ._endpoints import TrackingClientEndpoint, TrackingServerEndpoint
from ._hostnames import resolveName
from ._interfaces import IUDPPort
from ._observe import quietly
from ._registry import Registry
from ._targets import (
    PortFront,
    checkClientTLS,
    checkFactory,
    checkIPLiteral,
    checkPortNumber,
    checkSocketPath,
    checkUnconnected,
    connectionTarget,
    isIPLiteral,
    listeningAddress,
    splitFactoryOrProtocol,
)
from ._tls import processAuthority
from ._transports import TCP, TLS, UDP, UNIX, Transport, privateSocketPath
from ._transports import removeSocketDirectory as _removeDirectory

#: How one target is reached: a call that connects a factory (the reactor's
#: connector, or an endpoint's Deferred comes back).
Dial = Callable[[IProtocolFactory], "IConnector | Deferred[IProtocol]"]


class Opener:
    """
    Opens a network's ports and connections on its reactor, and records
    each in its registry.
    """

    def __init__(
        self,
        reactor: Any,
        registry: Registry,
        checkOpen: Callable[[], None],
        owner: Callable[[], object],
    ) -> None:
        """
        @param checkOpen: Raises unless the network may still open things.
        @param owner: A weak reference to the network, which owns the
            endpoints made here.
        """
        self._reactor = reactor
        self._registry = registry
        self._checkOpen = checkOpen
        self._ownerReference = owner

    @property
    def _owner(self) -> object:
        return self._ownerReference()

    def listenUDP(
        self,
        origin: Origin,
        protocol: AbstractDatagramProtocol,
        port: int,
        interface: str,
        maxPacketSize: int,
    ) -> IUDPPort:
        self._checkOpen()
        if not isinstance(protocol, AbstractDatagramProtocol):
            raise TypeError(
                f"listenUDP() takes a twisted.internet.protocol.DatagramProtocol, "
                f"not {protocol!r}"
            )
        if protocol.transport is not None:
            raise ValueError(
                f"{protocol!r} is listening already; a datagram protocol serves "
                f"one port at a time"
            )
        checkPortNumber(port, "port", allowZero=True)
        checkIPLiteral(interface, "interface")
        checkPortNumber(maxPacketSize, "maxPacketSize", allowZero=False)
        with quietly(self._reactor):
            listening = self._reactor.listenUDP(
                port, protocol, interface, maxPacketSize
            )
        self._registry.addPort(listening, origin, UDP)
        udpPort: IUDPPort = listening
        return udpPort

    def listenIP(
        self,
        origin: Origin,
        factory: IProtocolFactory,
        port: int,
        interface: str,
        backlog: int,
        tlsOptions: object,
    ) -> IListeningPort:
        self._checkOpen()
        checkFactory(factory)
        checkPortNumber(port, "port", allowZero=True)
        checkIPLiteral(interface, "interface")
        checkPortNumber(backlog, "backlog", allowZero=False)
        reactor = self._reactor
        if tlsOptions is None:
            return self._listenWith(
                origin,
                factory,
                TCP,
                lambda: reactor.listenTCP(port, factory, backlog, interface),
            )
        return self._listenWith(
            origin,
            factory,
            TLS,
            lambda: reactor.listenSSL(port, factory, tlsOptions, backlog, interface),
        )

    def listenUNIX(
        self, origin: Origin, factory: IProtocolFactory, backlog: int
    ) -> IListeningPort:
        self._checkOpen()
        checkFactory(factory)
        checkPortNumber(backlog, "backlog", allowZero=False)
        path = privateSocketPath()
        try:
            return self._listenWith(
                origin,
                factory,
                UNIX,
                lambda: self._reactor.listenUNIX(path, factory, backlog, mode=0o600),
                path,
            )
        except BaseException:
            _removeDirectory(path)
            raise

    def _listenWith(
        self,
        origin: Origin,
        factory: IProtocolFactory,
        transport: Transport,
        openPort: Callable[[], IListeningPort],
        socketPath: str = "",
    ) -> IListeningPort:
        hook = self._registry.hook(factory)
        try:
            with quietly(self._reactor):
                listening = openPort()
        except BaseException:
            self._registry.unhook(hook)
            raise
        self._registry.addPort(
            listening, origin, transport, hook, socketPath=socketPath
        )
        return listening

    def connect(
        self,
        origin: Origin,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float,
        tlsOptions: object,
    ) -> Deferred[IProtocol]:
        self._checkOpen()
        if isinstance(target, TrackingClientEndpoint) and tlsOptions is None:
            # One of trialnet's endpoints: connect to where it connects.
            endpoint = target
            target = endpoint.target
            timeout, tlsOptions = endpoint.timeout, endpoint.tlsOptions
        if timeout is not CONNECT_TIMEOUT:
            # trialnet's own default (the object itself, as connect()'s
            # default passes it) is valid by construction: checked only when
            # the caller gave one.
            checkSeconds(timeout, "timeout")
        dial = self.dialer(target, timeout, tlsOptions)
        if isinstance(target, PortFront):
            problem = target.frontProblem()
            if problem is not None:
                return fail(problem)
        factory, protocol = splitFactoryOrProtocol(factoryOrProtocol)
        if protocol is not None:
            checkUnconnected(protocol)
        attempt = self._registry.addAttempt(factory, protocol, origin)
        try:
            with quietly(self._reactor):
                opened = dial(attempt)
        except BaseException:
            attempt.abandon()
            raise
        attempt.connectingThrough(opened)
        return attempt.deferred

    def dialer(self, target: object, timeout: float, tlsOptions: object) -> Dial:
        """
        Check a connection target, and say how to connect to it.
        """
        if tlsOptions is not None:
            checkClientTLS(tlsOptions)
        # Shaped for speed: a port of this network, the usual target, is
        # known by its record (one dictionary lookup), with no interface
        # lookups of the target.
        record = self._registry.portOf(target)
        kind = TCP
        address: Any = None
        if record is None and IStreamClientEndpoint.providedBy(target):
            if tlsOptions is not None:
                raise ValueError(
                    "tlsOptions does not apply to an endpoint; wrap it with "
                    "twisted.internet.endpoints.wrapClientTLS"
                )
            return target.connect
        if record is None and isinstance(target, PortFront):
            # A link: connect to where it listens, as to its port.
            kind, target = target.frontTransport, target.frontAddress()
        elif record is not None or IListeningPort.providedBy(target):
            kind = TCP if record is None else record.transport
            if not kind.stream:
                raise ValueError(
                    f"connect() makes stream connections; {target!r} is a UDP port"
                )
            if (
                record is not None
                and record.listening
                and getattr(target, "connected", True)
            ):
                # Where it listens, as it said when it last began listening.
                address = record.address
        if address is None:
            address = listeningAddress(target)
        reactor = self._reactor
        if isinstance(address, UNIXAddress):
            if tlsOptions is not None:
                raise ValueError("trialnet connects to UNIX sockets without TLS")
            path = checkSocketPath(address.name)
            return lambda factory: reactor.connectUNIX(path, factory, timeout=timeout)
        if isinstance(address, tuple) and len(address) == 2:
            name, number = address
            if isinstance(name, str) and not isIPLiteral(name):
                # localhost, or a name mapped with mapName(), as an IP
                # literal would be (TLS only with tlsOptions).
                address = resolveName(
                    name, number, self._registry.ports, self._owner, "connect()"
                )
        host, port = connectionTarget(address)
        if tlsOptions is None and kind.secure:
            tlsOptions = processAuthority().clientOptions(host)
        if tlsOptions is not None:
            options = failingAttempts(tlsOptions)
            return lambda factory: reactor.connectSSL(
                host, port, factory, options, timeout=timeout
            )
        return lambda factory: reactor.connectTCP(host, port, factory, timeout=timeout)

    def track(self, thing: object, origin: Origin) -> object:
        """
        Adopt what L{trialnet.INetworkOpening.track} was given, or, for an
        endpoint, return one that tracks what it opens.
        """
        registry = self._registry
        if IListeningPort.providedBy(thing):
            registry.adoptPort(thing, origin, observed=False)
        elif IConnector.providedBy(thing):
            registry.addConnector(thing, origin, observed=False)
        elif IProtocol.providedBy(thing):
            registry.adoptProtocol(thing, origin, "tracked")
        elif IStreamClientEndpoint.providedBy(thing):
            return self.trackClientEndpoint(thing, origin)
        elif IStreamServerEndpoint.providedBy(thing):
            return self.trackServerEndpoint(thing, origin)
        elif callable(getattr(thing, "closeCachedConnections", None)):
            registry.addPool(thing, origin)
        elif callable(getattr(thing, "stopService", None)):
            registry.addService(thing, origin)
        else:
            raise TypeError(
                f"track() takes an IListeningPort, an IConnector, a connected "
                f"IProtocol, an endpoint, an HTTPConnectionPool or a service, "
                f"not {thing!r}"
            )
        return thing

    def serverEndpoint(
        self, origin: Origin, transport: str, port: int, interface: str, backlog: int
    ) -> IStreamServerEndpoint:
        """
        An endpoint whose every port is opened here, with C{origin}.

        @param transport: C{"tcp"}, C{"tls"} or C{"unix"}.
        @raise ValueError: For any other transport.
        """
        kind = {kind.name: kind for kind in (TCP, TLS, UNIX)}.get(transport)
        if kind is None:
            raise ValueError(
                f"transport must be 'tcp', 'tls' or 'unix', not {transport!r}"
            )

        def listen(factory: IProtocolFactory) -> IListeningPort:
            if kind is UNIX:
                return self.listenUNIX(origin, factory, backlog)
            options = processAuthority().serverOptions() if kind.secure else None
            return self.listenIP(origin, factory, port, interface, backlog, options)

        where = "a private UNIX socket" if kind is UNIX else interface
        return TrackingServerEndpoint(listen, f"{transport} on {where}", self._owner)

    def trackClientEndpoint(
        self, endpoint: IStreamClientEndpoint, origin: Origin
    ) -> Any:
        if (
            isinstance(endpoint, TrackingClientEndpoint)
            and endpoint.owner is self._owner
        ):
            return endpoint

        def connect(factory: IProtocolFactory) -> Deferred[IProtocol]:
            return self.connect(origin, endpoint, factory, CONNECT_TIMEOUT, None)

        return TrackingClientEndpoint(
            connect, endpoint, CONNECT_TIMEOUT, None, self._owner
        )

    def trackServerEndpoint(
        self, endpoint: IStreamServerEndpoint, origin: Origin
    ) -> Any:
        if isinstance(endpoint, TrackingServerEndpoint):
            if endpoint.owner is self._owner:
                return endpoint
            raise ValueError(
                f"{endpoint!r} belongs to another trialnet Network; use that "
                f"Network's serverEndpoint() or make one of this Network"
            )
        registry = self._registry

        def listen(factory: IProtocolFactory) -> Deferred[IListeningPort]:
            self._checkOpen()
            checkFactory(factory)
            hook = registry.hook(factory)
            pending = registry.addPendingListen(origin)

            def listened(port: IListeningPort) -> IListeningPort:
                registry.addPort(port, origin, hook=hook)
                pending.finished()
                return port

            def failed(failure: Any) -> Any:
                registry.unhook(hook)
                pending.finished()
                return failure

            try:
                with quietly(self._reactor):
                    listening = endpoint.listen(factory)
            except BaseException:
                failed(None)
                raise
            return listening.addCallbacks(listened, failed)

        return TrackingServerEndpoint(listen, repr(endpoint), self._owner)
