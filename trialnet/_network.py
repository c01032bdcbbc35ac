"""
L{Network}, the front of trialnet's core: it checks arguments once, records
the calling line, picks a transport and delegates to the registry of what is
open, the pairing, and the teardown.  Its API is documented once, on
L{INetwork<trialnet._interfaces.INetwork>}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from twisted.internet.address import UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IConnector,
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol
from zope.interface import implementer

from ._endpoints import TrackingClientEndpoint, TrackingServerEndpoint
from ._interfaces import IBoundedWaits, INetwork
from ._observe import observe, quietly, stopObserving
from ._registry import Registry
from ._report import Origin, callerOrigin
from ._targets import (
    checkClientTLS,
    checkFactory,
    checkIPLiteral,
    checkPortNumber,
    checkPositive,
    checkServerTLS,
    checkSocketPath,
    checkUnconnected,
    connectionTarget,
    listeningAddress,
    splitFactoryOrProtocol,
)
from ._teardown import Phase, Teardown
from ._tls import TLSAuthority, processAuthority
from ._transports import TCP, TLS, UDP, UNIX, Transport, privateSocketPath
from ._transports import removeSocketDirectory as _removeDirectory

_T = TypeVar("_T")

#: How one target is reached: a call that connects a factory (the reactor's
#: connector, or an endpoint's Deferred comes back).
_Dial = Callable[[IProtocolFactory], "IConnector | Deferred[IProtocol]"]


@implementer(INetwork)
class Network:
    """
    One test's listening ports and connections, and their teardown; see
    L{INetwork<trialnet._interfaces.INetwork>} for each method.

    L{trialnet.NetworkTestCase} makes one per test; use it directly from a
    fixture of another test runner.
    """

    def __init__(
        self,
        reactor: Any = None,
        disconnectTimeout: float = 5.0,
        waitTimeout: float | None = None,
        strictCleanup: bool = False,
    ) -> None:
        """
        @param reactor: The reactor to listen and connect with, and to
            observe; the global reactor by default.
        @param disconnectTimeout: Seconds allowed for an orderly close before
            the teardown aborts what is left.
        @param waitTimeout: The default bound, in seconds, of the waits of
            every L{trialnet.Recorder} it connects or accepts (unless the
            recorder sets its own); C{None} for the recorder's default.
        @param strictCleanup: Whether what the code under test left open
            when the teardown began fails the teardown (see
            L{INetwork.strictCleanup<trialnet._interfaces.INetwork.strictCleanup>}).
        @raise TypeError: If C{disconnectTimeout} is not a number.
        @raise ValueError: If it is not positive and finite.
        """
        timeout = checkPositive(disconnectTimeout, "disconnectTimeout")
        if waitTimeout is not None:
            waitTimeout = checkPositive(waitTimeout, "waitTimeout")
        if reactor is None:
            from twisted.internet import reactor as globalReactor  # noqa: N812

            reactor = globalReactor
        self.waitTimeout = waitTimeout
        self._reactor: Any = reactor
        self._registry = Registry(reactor, self._configure)
        self._teardown = Teardown(reactor, self._registry, timeout, bool(strictCleanup))
        observe(reactor, self)

    @property
    def disconnectTimeout(self) -> float:
        return self._teardown.disconnectTimeout

    @disconnectTimeout.setter
    def disconnectTimeout(self, seconds: float) -> None:
        self._teardown.disconnectTimeout = checkPositive(seconds, "disconnectTimeout")

    @property
    def strictCleanup(self) -> bool:
        return self._teardown.strict

    @strictCleanup.setter
    def strictCleanup(self, strict: bool) -> None:
        self._teardown.strict = bool(strict)

    @property
    def tlsAuthority(self) -> TLSAuthority:
        return processAuthority()

    # Opening

    def listen(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IListeningPort:
        return self._listenIP(callerOrigin(), factory, port, interface, backlog, None)

    def listenTLS(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
        options: object = None,
    ) -> IListeningPort:
        origin = callerOrigin()
        if options is None:
            options = self.tlsAuthority.serverOptions()
        checkServerTLS(options)
        return self._listenIP(origin, factory, port, interface, backlog, options)

    def listenUNIX(
        self, factory: IProtocolFactory, backlog: int = 50
    ) -> IListeningPort:
        return self._listenUNIX(callerOrigin(), factory, backlog)

    def listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IListeningPort:
        origin = callerOrigin()
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
        return listening  # type: ignore[no-any-return]

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[IProtocol]:
        return self._connect(
            callerOrigin(), target, factoryOrProtocol, timeout, tlsOptions
        )

    def serverEndpoint(
        self,
        transport: str = "tcp",
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IStreamServerEndpoint:
        origin = callerOrigin()
        checkPortNumber(port, "port", allowZero=True)
        checkIPLiteral(interface, "interface")
        checkPortNumber(backlog, "backlog", allowZero=False)
        kinds = {kind.name: kind for kind in (TCP, TLS, UNIX)}
        kind = kinds.get(transport)
        if kind is None:
            raise ValueError(
                f"transport must be 'tcp', 'tls' or 'unix', not {transport!r}"
            )

        def listen(factory: IProtocolFactory) -> IListeningPort:
            if kind is UNIX:
                return self._listenUNIX(origin, factory, backlog)
            options = self.tlsAuthority.serverOptions() if kind.secure else None
            return self._listenIP(origin, factory, port, interface, backlog, options)

        where = "a private UNIX socket" if kind is UNIX else interface
        return TrackingServerEndpoint(listen, f"{transport} on {where}", self)

    def clientEndpoint(
        self, target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        origin = callerOrigin()
        checkPositive(timeout, "timeout")
        self._dialer(target, timeout, tlsOptions)

        def connect(factory: IProtocolFactory) -> Deferred[IProtocol]:
            return self._connect(origin, target, factory, timeout, tlsOptions)

        return TrackingClientEndpoint(connect, target, timeout, tlsOptions, self)

    @overload
    def track(self, thing: IStreamClientEndpoint) -> IStreamClientEndpoint: ...

    @overload
    def track(self, thing: IStreamServerEndpoint) -> IStreamServerEndpoint: ...

    @overload
    def track(self, thing: _T) -> _T: ...

    def track(self, thing: object) -> object:
        origin = callerOrigin()
        self._checkOpen()
        registry = self._registry
        if IListeningPort.providedBy(thing):
            registry.adoptPort(thing, origin, observed=False)
        elif IConnector.providedBy(thing):
            registry.addConnector(thing, origin, observed=False)
        elif IProtocol.providedBy(thing):
            registry.adoptProtocol(thing, origin, "tracked")
        elif IStreamClientEndpoint.providedBy(thing):
            return self._trackClientEndpoint(thing, origin)
        elif IStreamServerEndpoint.providedBy(thing):
            return self._trackServerEndpoint(thing, origin)
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

    # Waiting

    def serverProtocolFor(self, client: IProtocol) -> Deferred[IProtocol]:
        end = self._registry.endOf(client)
        if end is None or end.role != "client" or end.hostKey is None:
            raise ValueError(f"{client!r} is not a client connection of this network")
        if self._registry.portAt(end.peerKey) is None:
            raise ValueError(
                f"{client!r} is connected to {end.peerText}, which is not a "
                f"port of this network"
            )
        waiter = self._registry.pairing.serverFor(end)
        assert waiter is not None
        return waiter

    def acceptedProtocol(self, port: IListeningPort) -> Deferred[IProtocol]:
        record = self._registry.portOf(port)
        if record is None or not record.transport.stream:
            raise ValueError(
                f"acceptedProtocol() takes a stream port of this network, not {port!r}"
            )
        return self._registry.pairing.accepted(record)

    def whenClosed(self, protocol: IProtocol) -> Deferred[None]:
        end = self._registry.endOf(protocol)
        if end is None:
            raise ValueError(
                f"whenClosed() takes a protocol this network tracks, not {protocol!r}"
            )
        waiter: Deferred[None] = Deferred()
        if end.closed or (not end.open and end.attempt is None):
            waiter.callback(None)
        else:
            end.closeWaiters.append(waiter)
        return waiter

    # Closing

    def close(self) -> Deferred[None]:
        """
        The whole teardown: stop every port, stop every connection attempt,
        close every connection end, and wait for all of it.

        After C{disconnectTimeout} seconds, what has not closed is aborted;
        a moment later, what still has not is closed by force.  Either way
        every socket is released and the network forgets every protocol,
        transport and factory.

        @return: A new L{Deferred<twisted.internet.defer.Deferred>} on each
            call, firing with C{None} when all closed in an orderly way, or
            failing with L{trialnet.TeardownError} naming each leftover.
        """
        first = self._teardown.phase is Phase.OPEN
        result = self._teardown.close()
        if first:
            result.addBoth(self._closed)
        return result

    def fitWithin(self, seconds: float) -> None:
        """
        Shorten the teardown's bounds, if need be, so that the whole of it
        (the orderly close, then the grace after aborting) ends well within
        C{seconds}: a test runner's own timeout for the cleanup, say.
        """
        self._teardown.fitWithin(seconds)

    def stopObserving(self) -> None:
        """
        Stop adopting what the code under test opens on the reactor; the
        teardown does so when it ends, and a test case when its run ends,
        whether or not its teardown could finish.
        """
        stopObserving(self._reactor, self)

    def _closed(self, result: _T) -> _T:
        self.stopObserving()
        return result

    # What the code under test opened

    def observedPort(self, port: Any, origin: Origin) -> None:
        """
        The code under test listened by itself: the port joins the teardown.
        """
        if self._teardown.phase is not Phase.DONE:
            self._registry.adoptPort(port, origin, observed=True)

    def observedConnector(self, connector: Any, origin: Origin) -> None:
        """
        The code under test connected by itself: its connections join the
        teardown.
        """
        if self._teardown.phase is not Phase.DONE:
            self._registry.addConnector(connector, origin, observed=True)

    # Inside

    def _configure(self, protocol: object) -> None:
        if (
            IBoundedWaits.providedBy(protocol)
            and self.waitTimeout is not None
            and protocol.waitTimeout is None
        ):
            protocol.waitTimeout = self.waitTimeout

    def _checkOpen(self) -> None:
        if self._teardown.phase is not Phase.OPEN:
            raise RuntimeError(
                "this trialnet Network is closed or closing; open ports and "
                "connections before its teardown starts"
            )

    def _listenIP(
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

    def _listenUNIX(
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

    def _connect(
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
        checkPositive(timeout, "timeout")
        dial = self._dialer(target, timeout, tlsOptions)
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

    def _dialer(self, target: object, timeout: float, tlsOptions: object) -> _Dial:
        """
        Check a connection target, and say how to connect to it.
        """
        if tlsOptions is not None:
            checkClientTLS(tlsOptions)
        if IStreamClientEndpoint.providedBy(target):
            if tlsOptions is not None:
                raise ValueError(
                    "tlsOptions does not apply to an endpoint; wrap it with "
                    "twisted.internet.endpoints.wrapClientTLS"
                )
            return target.connect
        kind = TCP
        if IListeningPort.providedBy(target):
            record = self._registry.portOf(target)
            kind = TCP if record is None else record.transport
            if not kind.stream:
                raise ValueError(
                    f"connect() makes stream connections; {target!r} is a UDP port"
                )
        address = listeningAddress(target)
        reactor = self._reactor
        if isinstance(address, UNIXAddress):
            if tlsOptions is not None:
                raise ValueError("trialnet connects to UNIX sockets without TLS")
            path = checkSocketPath(address.name)
            return lambda factory: reactor.connectUNIX(path, factory, timeout=timeout)
        host, port = connectionTarget(address)
        if tlsOptions is None and kind.secure:
            tlsOptions = self.tlsAuthority.clientOptions(host)
        if tlsOptions is not None:
            options = tlsOptions
            return lambda factory: reactor.connectSSL(
                host, port, factory, options, timeout=timeout
            )
        return lambda factory: reactor.connectTCP(host, port, factory, timeout=timeout)

    def _trackClientEndpoint(
        self, endpoint: IStreamClientEndpoint, origin: Origin
    ) -> Any:
        if isinstance(endpoint, TrackingClientEndpoint) and endpoint.owner is self:
            return endpoint

        def connect(factory: IProtocolFactory) -> Deferred[IProtocol]:
            return self._connect(origin, endpoint, factory, 30.0, None)

        return TrackingClientEndpoint(connect, endpoint, 30.0, None, self)

    def _trackServerEndpoint(
        self, endpoint: IStreamServerEndpoint, origin: Origin
    ) -> Any:
        if isinstance(endpoint, TrackingServerEndpoint):
            if endpoint.owner is self:
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
            with quietly(self._reactor):
                listening = endpoint.listen(factory)

            def listened(port: IListeningPort) -> IListeningPort:
                registry.addPort(port, origin, hook=hook)
                pending.finished()
                return port

            def failed(failure: Any) -> Any:
                registry.unhook(hook)
                pending.finished()
                return failure

            return listening.addCallbacks(listened, failed)

        return TrackingServerEndpoint(listen, repr(endpoint), self)
