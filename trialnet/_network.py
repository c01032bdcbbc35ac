"""
The core: one test's ports, connections and their teardown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar, overload

from twisted.internet.address import UNIXAddress
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import (
    IConnector,
    IDelayedCall,
    IHalfCloseableProtocol,
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol
from twisted.python import log
from twisted.python.failure import Failure
from twisted.python.reflect import qual

from ._client import ClientAttempt, cancelQuietly
from ._conversation import Recorder
from ._endpoints import TrackingClientEndpoint, TrackingServerEndpoint
from ._report import Leftover, Origin, TeardownError, callerOrigin
from ._targets import (
    checkClientTLS,
    checkFactory,
    checkIPLiteral,
    checkPortNumber,
    checkPositive,
    checkServerTLS,
    checkSocketPath,
    connectionTarget,
    listeningAddress,
    splitFactoryOrProtocol,
)
from ._tls import TLSAuthority, processAuthority
from ._tracking import AddressKey, Connection, FactoryHook, Port, portServes
from ._transports import (
    applicationFactory,
    applicationProtocol,
    portFamily,
    privateSocketPath,
    releaseSocket,
    removeSocketDirectory,
    socketTransport,
)

_T = TypeVar("_T")

#: How to connect a factory to a target (a connector or an endpoint's
#: Deferred comes back), and the target's UNIX socket path if it has one.
_Dialer = tuple[
    Callable[[ClientAttempt], "IConnector | Deferred[IProtocol]"], "str | None"
]

#: Seconds to wait, after aborting, for the aborted connections to report
#: C{connectionLost} before their sockets are closed by force.  Aborting
#: delivers C{connectionLost} one reactor turn later, so this is generous.
ABORT_GRACE = 1.0

#: How much of a runner's timeout L{Network.fitWithin} lets the teardown use.
FIT_SHARE = 0.8


class Network:
    """
    One test's listening ports and connections, and their teardown.

    Everything opened through it, or adopted with L{track}, is closed by
    L{close}: ports stop listening, connection attempts stop, every
    connection end is closed, and all of it is waited for, for at most
    C{disconnectTimeout} seconds before what is left is aborted and reported.

    L{trialnet.NetworkTestCase} makes one per test; use it directly from a
    fixture of another test runner.

    @ivar disconnectTimeout: Seconds allowed for an orderly close.
    @ivar waitTimeout: The default bound, in seconds, of the waits of every
        L{trialnet.Recorder} this network connects or accepts (unless the
        recorder sets its own); C{None} for the recorder's default.
    """

    def __init__(self, reactor: Any = None, disconnectTimeout: float = 5.0) -> None:
        """
        @param reactor: The reactor to listen and connect with; the global
            reactor by default.
        @param disconnectTimeout: Seconds allowed for an orderly close before
            the teardown aborts what is left.
        @raise TypeError: If C{disconnectTimeout} is not a number.
        @raise ValueError: If it is not positive.
        """
        self.disconnectTimeout = checkPositive(disconnectTimeout, "disconnectTimeout")
        self.waitTimeout: float | None = None
        self._abortGrace = ABORT_GRACE
        # Where a test case's share of its own timeout comes from, asked only
        # when a recorder needs it.
        self._testWaitTimeout: Callable[[], float] | None = None
        if reactor is None:
            from twisted.internet import reactor as globalReactor  # noqa: N812

            reactor = globalReactor
        self._reactor: Any = reactor
        self._ports: dict[int, Port] = {}
        self._factoryHooks: dict[int, FactoryHook] = {}
        self._attempts: set[ClientAttempt] = set()
        # Connectors, with whether they were adopted with track(): only an
        # adopted one can have a connection trialnet does not know yet.
        self._connectors: list[tuple[IConnector, Origin, bool]] = []
        self._connections: dict[int, Connection] = {}
        self._open: set[Connection] = set()
        self._serversByPeer: dict[AddressKey, Connection] = {}
        self._serverWaiters: dict[AddressKey, list[Deferred[IProtocol]]] = {}
        self._closing = False
        self._stepping = False
        self._closed = False
        self._outcome: Failure | None = None
        self._closeWaiters: list[Deferred[None]] = []
        self._pendingPorts = 0
        self._pools: list[tuple[Any, Origin]] = []
        self._closingPools: dict[int, tuple[Any, Origin]] = {}
        self._pendingListens: dict[int, tuple[Deferred[Any], Origin]] = {}
        self._unixCounts: dict[tuple[str, str], int] = {}
        self._startedAt = 0.0
        self._readersAtClose: set[object] = set()
        self._leftovers: list[Leftover] = []
        self._abortedAt: dict[Connection, int] = {}
        self._timer: IDelayedCall | None = None
        # Attempts whose connector started the factory and did not stop it:
        # the application hears clientConnectionLost and doStop only after
        # the protocol's connectionLost.
        self._runningAttempts: set[ClientAttempt] = set()

    # Opening

    def listen(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IListeningPort:
        """
        Listen for TCP connections; the port and every connection it accepts
        are closed at the teardown.

        @param factory: The application's factory; the port holds this very
            object, and its protocols keep the reactor's real transports.
        @param port: The port number; 0, the default, lets the kernel choose
            a free one (safe under C{trial -j} and C{pytest -n}).
        @param interface: An IPv4 or IPv6 literal; loopback by default.
        @param backlog: The listen queue's size.
        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}, listening.
        @raise TypeError: If C{factory} is not an
            L{IProtocolFactory<twisted.internet.interfaces.IProtocolFactory>} or an
            argument has the wrong type.
        @raise ValueError: If C{interface} is a name rather than an IP
            literal, or a number is out of range.
        """
        return self._listenIP(callerOrigin(), factory, port, interface, backlog, None)

    def listenTLS(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
        options: object = None,
    ) -> IListeningPort:
        """
        Listen for TLS connections over TCP; L{connect} to the port verifies
        the server against L{tlsAuthority}.

        The application's protocols keep the reactor's TLS transport and
        every interface: a factory providing
        L{IProtocolNegotiationFactory
        <twisted.internet.interfaces.IProtocolNegotiationFactory>} negotiates
        ALPN, and a protocol providing L{IHandshakeListener
        <twisted.internet.interfaces.IHandshakeListener>} hears
        C{handshakeCompleted}.  As with the reactor, C{connectionMade} comes
        before the handshake.

        @param options: Server TLS options (an
            L{IOpenSSLServerConnectionCreator
            <twisted.internet.interfaces.IOpenSSLServerConnectionCreator>} or
            an old-style context factory); by default a certificate signed by
            L{tlsAuthority} for C{localhost}, C{127.0.0.1} and C{::1}.
        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}, listening.
        @raise ImportError: If the C{tls} extra is not installed.
        @raise TypeError: If an argument has the wrong type.
        @raise ValueError: As for L{listen}.
        """
        origin = callerOrigin()
        if options is None:
            options = self.tlsAuthority.serverOptions()
        checkServerTLS(options)
        return self._listenIP(origin, factory, port, interface, backlog, options)

    def listenUNIX(
        self, factory: IProtocolFactory, backlog: int = 50
    ) -> IListeningPort:
        """
        Listen on a UNIX socket in a new private directory (mode 0700) with a
        short path; the directory is removed at the teardown.

        @param factory: The application's factory.
        @param backlog: The listen queue's size.
        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>};
            C{getHost().name} is the socket's path.
        @raise TypeError: If an argument has the wrong type.
        @raise ValueError: If C{backlog} is out of range.
        """
        return self._listenUNIX(callerOrigin(), factory, backlog)

    def _listenUNIX(
        self, origin: Origin, factory: IProtocolFactory, backlog: int
    ) -> IListeningPort:
        self._checkOpen()
        checkFactory(factory)
        checkPortNumber(backlog, "backlog", allowZero=False)
        path = privateSocketPath()
        try:
            _, record = self._listenWith(
                origin,
                factory,
                lambda: self._reactor.listenUNIX(path, factory, backlog, mode=0o600),
                "unix",
            )
        except BaseException:
            removeSocketDirectory(path)
            raise
        record.socketPath = path
        assert record.port is not None
        return record.port

    def listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IListeningPort:
        """
        Listen for UDP datagrams; the port is stopped, once, and waited for
        at the teardown.

        @param protocol: The application's L{DatagramProtocol
            <twisted.internet.protocol.DatagramProtocol>}.
        @param port: The port number; 0 lets the kernel choose.
        @param interface: An IPv4 or IPv6 literal; loopback by default.
        @param maxPacketSize: The largest datagram read.
        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}.
        @raise TypeError: If C{protocol} is not a datagram protocol, or an
            argument has the wrong type.
        @raise ValueError: As for L{listen}.
        """
        origin = callerOrigin()
        self._checkOpen()
        if not isinstance(protocol, AbstractDatagramProtocol):
            raise TypeError(
                f"listenUDP() takes a twisted.internet.protocol.DatagramProtocol, "
                f"not {protocol!r}"
            )
        checkPortNumber(port, "port", allowZero=True)
        checkIPLiteral(interface, "interface")
        checkPortNumber(maxPacketSize, "maxPacketSize", allowZero=False)
        listening = self._reactor.listenUDP(port, protocol, interface, maxPacketSize)
        self._addPort(listening, origin, None, listening=True, family="udp")
        return listening  # type: ignore[no-any-return]

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[IProtocol]:
        """
        Connect a client; the connection is closed at the teardown.

        @param target: A port returned by L{listen}, L{listenTLS} or
            L{listenUNIX} (its current address; TLS for a L{listenTLS} port),
            an L{IPv4Address<twisted.internet.address.IPv4Address>},
            L{IPv6Address<twisted.internet.address.IPv6Address>} or
            L{UNIXAddress<twisted.internet.address.UNIXAddress>}, a C{(host, port)}
            tuple with an IP literal, or any
            L{IStreamClientEndpoint<twisted.internet.interfaces.IStreamClientEndpoint>}.
        @param factoryOrProtocol: A protocol factory (a
            L{ClientFactory<twisted.internet.protocol.ClientFactory>} keeps its
            C{clientConnectionFailed}/C{clientConnectionLost} callbacks), or a
            protocol instance that is not connected.
        @param timeout: Seconds the connection attempt may take (not used
            for an endpoint, which has its own).
        @param tlsOptions: Client TLS options (an
            L{IOpenSSLClientConnectionCreator
            <twisted.internet.interfaces.IOpenSSLClientConnectionCreator>}),
            to connect with TLS; by default a L{listenTLS} port is verified
            against L{tlsAuthority}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            client protocol after its C{connectionMade} ran, or fails with the reactor's
            error (for example L{ConnectionRefusedError
            <twisted.internet.error.ConnectionRefusedError>}), leaving nothing open.
            Cancelling it stops the attempt.
        @raise TypeError: If an argument has the wrong type.
        @raise ValueError: If the host is a name, a number is out of range,
            the port is not listening, or the protocol instance is already
            connected.
        """
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
        """
        An endpoint for code under test that listens through endpoints; its
        every port and connection joins this network's teardown.

        @param transport: C{"tcp"}, C{"tls"} (see L{listenTLS}) or C{"unix"}
            (see L{listenUNIX}; C{port} and C{interface} do not apply).
        @return: An
            L{IStreamServerEndpoint<twisted.internet.interfaces.IStreamServerEndpoint>}.
        @raise ValueError: For another transport, or the checks of L{listen}.
        """
        origin = callerOrigin()
        checkPortNumber(port, "port", allowZero=True)
        checkIPLiteral(interface, "interface")
        checkPortNumber(backlog, "backlog", allowZero=False)
        if transport not in ("tcp", "tls", "unix"):
            raise ValueError(
                f"transport must be 'tcp', 'tls' or 'unix', not {transport!r}"
            )

        def listen(factory: IProtocolFactory) -> IListeningPort:
            if transport == "unix":
                return self._listenUNIX(origin, factory, backlog)
            options = self.tlsAuthority.serverOptions() if transport == "tls" else None
            return self._listenIP(origin, factory, port, interface, backlog, options)

        where = "a private UNIX socket" if transport == "unix" else interface
        return TrackingServerEndpoint(listen, f"{transport} on {where}", self)

    def clientEndpoint(
        self, target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        """
        An endpoint for code under test that connects through endpoints (an
        L{Agent<twisted.web.client.Agent>}, a service): each of its
        connections is made by L{connect} and joins this network's teardown.

        @param target: What L{connect} takes.
        @return: An
            L{IStreamClientEndpoint<twisted.internet.interfaces.IStreamClientEndpoint>}.
        """
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
        """
        Adopt something the code under test opened itself into the same
        teardown.

        @param thing: An L{IListeningPort<twisted.internet.interfaces.IListeningPort>}
            (its factory's future connections are tracked too), an
            L{IConnector<twisted.internet.interfaces.IConnector>} (stopped if still
            connecting, its connection closed if connected), a connected protocol, an
            L{HTTPConnectionPool<twisted.web.client.HTTPConnectionPool>} (or anything
            with C{closeCachedConnections()}: its cached connections are closed and its
            timers cancelled), or an endpoint.
        @return: C{thing}, or for an endpoint a tracking endpoint that makes
            its connections (or ports) through it.
        @raise TypeError: For anything else.
        @raise ValueError: For a protocol that is not connected.
        """
        origin = callerOrigin()
        self._checkOpen()
        if IListeningPort.providedBy(thing):
            self._trackPort(thing, origin)
        elif IConnector.providedBy(thing):
            self._connectors.append((thing, origin, True))
        elif IProtocol.providedBy(thing):
            self._trackProtocol(thing, origin, "tracked")
        elif IStreamClientEndpoint.providedBy(thing):
            return self._trackClientEndpoint(thing, origin)
        elif IStreamServerEndpoint.providedBy(thing):
            return self._trackServerEndpoint(thing, origin)
        elif callable(getattr(thing, "closeCachedConnections", None)):
            self._pools.append((thing, origin))
        else:
            raise TypeError(
                f"track() takes an IListeningPort, an IConnector, a connected "
                f"IProtocol, an endpoint or an HTTPConnectionPool, not {thing!r}"
            )
        return thing

    # Waiting

    def serverProtocolFor(self, client: IProtocol) -> Deferred[IProtocol]:
        """
        Find the protocol one of this network's ports built for the other end
        of a client connection.

        On UNIX sockets, whose addresses do not tell connections apart, ends
        are paired in the order they connected: every client of that port
        must come from L{connect}.  Use L{acceptedProtocol} for others.

        @param client: A protocol that L{connect} connected; it may have
            closed since (ends are matched on the addresses recorded when it
            connected).
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            server protocol once its C{connectionMade} ran.  If the teardown comes
            first, it is cancelled.
        @raise ValueError: If C{client} did not come from L{connect}, or is
            not connected to one of this network's ports.
        """
        connection = self._connections.get(id(client))
        if (
            connection is None
            or connection.role != "client"
            or connection.hostKey is None
        ):
            raise ValueError(
                f"{client!r} is not a client connected by this network's connect()"
            )
        server = self._serversByPeer.get(connection.hostKey)
        if server is not None and server.protocol is not None:
            server.claimed = True
            return succeed(server.protocol)
        if self._portAt(connection.peerKey) is None:
            raise ValueError(
                f"{client!r} is connected to {connection.peerText}, which is "
                f"not a port of this network"
            )
        waiter: Deferred[IProtocol] = Deferred()
        self._serverWaiters.setdefault(connection.hostKey, []).append(waiter)
        return waiter

    def acceptedProtocol(self, port: IListeningPort) -> Deferred[IProtocol]:
        """
        Wait for a protocol a port built, for clients this network did not
        open (another process, a raw socket, code under test).

        @param port: A stream port of this network.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            oldest server protocol of that port not yet handed out by this method or
            L{serverProtocolFor}, once its C{connectionMade} ran (at once if there is
            one already).  If the teardown comes first, it is cancelled.
        @raise ValueError: If C{port} is not a stream port of this network.
        """
        record = self._ports.get(id(port))
        if record is None or record.family == "udp":
            raise ValueError(
                f"acceptedProtocol() takes a stream port of this network, not {port!r}"
            )
        while record.unclaimed:
            connection = record.unclaimed.popleft()
            if not connection.claimed and connection.protocol is not None:
                connection.claimed = True
                return succeed(connection.protocol)
        waiter: Deferred[IProtocol] = Deferred()
        record.acceptWaiters.append(waiter)
        return waiter

    def whenClosed(self, protocol: IProtocol) -> Deferred[None]:
        """
        Wait for one tracked connection end to close.

        @param protocol: A client or server protocol of this network, or one
            adopted with L{track}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with C{None}
            after the protocol's C{connectionLost} ran, at once if it already has.
        @raise ValueError: If this network does not track C{protocol}.
        """
        connection = self._connections.get(id(protocol))
        if connection is None or connection.protocol is not protocol:
            raise ValueError(
                f"whenClosed() takes a protocol this network tracks, not {protocol!r}"
            )
        if connection.closed:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        connection.closeWaiters.append(waiter)
        return waiter

    @property
    def tlsAuthority(self) -> TLSAuthority:
        """
        The certificate authority made for this process (once, on first use),
        which signs the certificate of L{listenTLS}: its PEM file for
        external clients, client and server options for C{startTLS}, and
        client certificates for mutual TLS.

        @raise ImportError: If the C{tls} extra is not installed.
        """
        return processAuthority()

    # Opening, inside

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
        if tlsOptions is None:
            listening, _ = self._listenWith(
                origin,
                factory,
                lambda: self._reactor.listenTCP(port, factory, backlog, interface),
                "tcp",
            )
        else:
            listening, _ = self._listenWith(
                origin,
                factory,
                lambda: self._reactor.listenSSL(
                    port, factory, tlsOptions, backlog, interface
                ),
                "tls",
            )
        return listening

    def _listenWith(
        self,
        origin: Origin,
        factory: IProtocolFactory,
        openPort: Callable[[], IListeningPort],
        family: str,
    ) -> tuple[IListeningPort, Port]:
        hook = self._hookFactory(factory)
        try:
            listening = openPort()
        except BaseException:
            self._unhookFactory(hook)
            raise
        return listening, self._addPort(listening, origin, hook, True, family)

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
        dial, unixPath = self._dialer(target, timeout, tlsOptions)
        factory, protocol = splitFactoryOrProtocol(factoryOrProtocol)
        connection = None
        if protocol is not None:
            connection = self._newConnection("client", origin, protocol)
            connection.watchConnect()

        def watch(built: IProtocol) -> Connection:
            return self._newConnection("client", origin, built)

        attempt = ClientAttempt(factory, connection, watch, self._attempts.discard)
        attempt.origin = origin
        attempt.running = self._runningAttempts
        attempt.onStopped = self._checkDone
        if unixPath is not None:
            attempt.pairing = lambda: self._nextUNIXKey("client", unixPath)
        self._attempts.add(attempt)
        try:
            opened = dial(attempt)
        except BaseException:
            self._attempts.discard(attempt)
            if connection is not None:
                connection.detach()
            raise
        if isinstance(opened, Deferred):
            attempt.connectingThrough(opened)
        else:
            attempt.connector = opened
            # The connector stays tracked after this attempt: a factory may
            # use it to connect again.
            self._connectors.append((opened, origin, False))
        return attempt.deferred

    def _dialer(self, target: object, timeout: float, tlsOptions: object) -> _Dialer:
        """
        Check a connection target, and say how to connect to it.

        @return: What connects a factory, and for a UNIX target its path.
        """
        if tlsOptions is not None:
            checkClientTLS(tlsOptions)
        if IStreamClientEndpoint.providedBy(target):
            if tlsOptions is not None:
                raise ValueError(
                    "tlsOptions does not apply to an endpoint; wrap it with "
                    "twisted.internet.endpoints.wrapClientTLS"
                )
            return target.connect, None
        family = "tcp"
        if IListeningPort.providedBy(target):
            record = self._ports.get(id(target))
            family = "tcp" if record is None else record.family
            if family == "udp":
                raise ValueError(
                    f"connect() makes stream connections; {target!r} is a UDP port"
                )
        address = listeningAddress(target)
        reactor = self._reactor
        if isinstance(address, UNIXAddress):
            if tlsOptions is not None:
                raise ValueError("trialnet connects to UNIX sockets without TLS")
            path = checkSocketPath(address.name)
            return (
                lambda factory: reactor.connectUNIX(path, factory, timeout=timeout),
                path,
            )
        host, port = connectionTarget(address)
        if tlsOptions is None and family == "tls":
            tlsOptions = self.tlsAuthority.clientOptions(host)
        if tlsOptions is not None:
            options = tlsOptions
            return (
                lambda factory: reactor.connectSSL(
                    host, port, factory, options, timeout=timeout
                ),
                None,
            )
        return (
            lambda factory: reactor.connectTCP(host, port, factory, timeout=timeout),
            None,
        )

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

        def listen(factory: IProtocolFactory) -> Deferred[IListeningPort]:
            self._checkOpen()
            checkFactory(factory)
            hook = self._hookFactory(factory)
            pending = endpoint.listen(factory)
            key = id(pending)
            self._pendingListens[key] = (pending, origin)

            def listening(port: IListeningPort) -> IListeningPort:
                del self._pendingListens[key]
                record = self._addPort(port, origin, hook, True, portFamily(port))
                if self._closing:
                    # The teardown began while it was starting: stop it now,
                    # and wait for it like the others.
                    self._pendingPorts += 1
                    record.stop().addCallback(self._portStopped)
                return port

            def failed(failure: Failure) -> Failure:
                del self._pendingListens[key]
                self._unhookFactory(hook)
                self._checkDone()
                return failure

            return pending.addCallbacks(listening, failed)

        return TrackingServerEndpoint(listen, repr(endpoint), self)

    # Closing

    def close(self) -> Deferred[None]:
        """
        The whole teardown: stop every port, stop every connection attempt,
        close every connection end, and wait for all of it.

        After C{disconnectTimeout} seconds, what has not closed is aborted;
        a moment later, what still has not is closed by force.  Either way
        every socket is released and the network forgets every protocol,
        transport and factory.

        @return: A new L{Deferred<twisted.internet.defer.Deferred>} on each call, firing
            with C{None} when all closed in an orderly way, or failing with
            L{TeardownError} naming each leftover.
        """
        result: Deferred[None] = Deferred()
        if self._closed:
            result.callback(self._outcome)
            return result
        self._closeWaiters.append(result)
        if not self._closing:
            self._beginClose()
        return result

    def fitWithin(self, seconds: float) -> None:
        """
        Shorten the teardown's bounds, if need be, so that the whole of it
        (the orderly close, then the grace after aborting) ends well within
        C{seconds}: a test runner's own timeout for the cleanup, say.

        @param seconds: The time the teardown must fit in.
        """
        budget = seconds * FIT_SHARE
        if self.disconnectTimeout + self._abortGrace > budget:
            self._abortGrace = min(self._abortGrace, budget / 4)
            self.disconnectTimeout = budget - self._abortGrace

    def _beginClose(self) -> None:
        self._closing = True
        self._startedAt = self._reactor.seconds()
        self._readersAtClose = set(self._reactor.getReaders())
        self._timer = self._reactor.callLater(
            self.disconnectTimeout, self._step, self._abortLeftovers
        )
        self._step(self._closeEverything)

    def _step(self, step: Callable[[], None]) -> None:
        """
        Run one step of the teardown.  The teardown may only finish once the
        whole step ran, never midway through its loop over what it closes.
        """
        self._stepping = True
        try:
            step()
        finally:
            self._stepping = False
        self._checkDone()

    def _closeEverything(self) -> None:
        # A pool's cached connections hold timers that closing them does not
        # cancel: the pool closes them first.
        for pool, origin in self._pools:
            self._closingPools[id(pool)] = (pool, origin)
            maybeDeferred(pool.closeCachedConnections).addBoth(self._poolClosed, pool)
        for port in self._ports.values():
            self._pendingPorts += 1
            port.stop().addCallback(self._portStopped)
        for attempt in list(self._attempts):
            _guarded(attempt.cancelAtTeardown, "cancelling a connection attempt")
        self._closeConnectors()
        for connection in list(self._open):
            self._loseConnection(connection)

    def _closeConnectors(self) -> None:
        for connector, origin, adopted in self._connectors:
            state = getattr(connector, "state", None)
            if state == "connecting":
                _guarded(connector.stopConnecting, "stopping a connector")
            elif state == "connected" and adopted:
                protocol = getattr(
                    getattr(connector, "transport", None), "protocol", None
                )
                if protocol is not None:
                    # Close through TLS rather than under it.
                    self._trackProtocol(applicationProtocol(protocol), origin, "client")

    def _loseConnection(self, connection: Connection) -> None:
        _guarded(connection.transport.loseConnection, "closing", connection)

    def _portStopped(self, ignored: None) -> None:
        self._pendingPorts -= 1
        self._checkDone()

    def _poolClosed(self, result: object, pool: object) -> None:
        if isinstance(result, Failure):
            log.err(result, "trialnet teardown: error while closing a connection pool")
        self._closingPools.pop(id(pool), None)
        self._checkDone()

    def _checkDone(self) -> None:
        if (
            self._closing
            and not self._closed
            and not self._stepping
            and not self._open
            and not self._attempts
            and not self._pendingPorts
            and not self._closingPools
            and not self._pendingListens
            and not self._runningAttempts
        ):
            self._finish()

    def _abortLeftovers(self) -> None:
        waited = self._reactor.seconds() - self._startedAt
        action = f"aborted after {waited:.2f}s"
        for connection in list(self._open):
            self._abortedAt[connection] = len(self._leftovers)
            self._leftovers.append(self._leftover(connection, action))
            abort = getattr(connection.transport, "abortConnection", None)
            if abort is None:
                self._loseConnection(connection)
            else:
                _guarded(abort, "aborting", connection)
        for port in self._ports.values():
            if not port.stopped:
                self._leftovers.append(
                    self._portLeftover(port, f"still listening after {waited:.2f}s")
                )
        self._timer = self._reactor.callLater(
            self._abortGrace, self._step, self._forceClose
        )

    def _forceClose(self) -> None:
        """
        Release the sockets of whatever ignored even C{abortConnection}, and
        tell their protocols the connection is gone.
        """
        for connection in list(self._open):
            index = self._abortedAt.get(connection)
            if index is not None:
                self._leftovers[index] = replace(
                    self._leftovers[index],
                    action=self._leftovers[index].action
                    + "; it still did not close, so its socket was closed by force",
                )
            releaseSocket(self._reactor, connection.transport)
            try:
                connection.protocol.connectionLost(  # type: ignore[union-attr]
                    Failure(ConnectionAborted())
                )
            except Exception:
                log.err(None, f"trialnet: connectionLost failed on {connection.kind}")
            if connection in self._open:
                self._markClosed(connection)
        for port in self._ports.values():
            if not port.stopped:
                port.forceStopped(self._reactor)
        for pool, origin in self._closingPools.values():
            self._leftovers.append(
                Leftover(
                    "pool",
                    qual(type(pool)),
                    "",
                    "",
                    origin,
                    "",
                    "closeCachedConnections() never finished",
                )
            )
        self._closingPools.clear()
        for attempt in list(self._attempts):
            self._attempts.discard(attempt)
            self._leftovers.append(
                Leftover(
                    "client", "", "", "", attempt.origin, "", _NEVER_ENDED % "connect"
                )
            )
        for attempt in list(self._runningAttempts):
            # A connector that still runs its factory now, as a factory that
            # keeps reconnecting does, is stopped.
            _guarded(attempt.halt, "stopping a connector")
            self._leftovers.append(
                Leftover(
                    "client",
                    attempt.kind,
                    "",
                    "",
                    attempt.origin,
                    "",
                    "its factory was still running (connecting again?); its "
                    "connector was stopped and the factory told no more",
                )
            )
        self._runningAttempts.clear()
        for _, origin in self._pendingListens.values():
            self._leftovers.append(
                Leftover("port", "", "", "", origin, "", _NEVER_ENDED % "listen")
            )
        self._pendingListens.clear()

    def _finish(self) -> None:
        self._closed = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        for port in self._ports.values():
            if port.stopFailure is not None:
                port.releaseSocket(self._reactor)
                failure = port.stopFailure
                self._leftovers.append(
                    self._portLeftover(
                        port, f"failed to stop: {failure.getErrorMessage()}"
                    )
                )
        waited = self._reactor.seconds() - self._startedAt
        if self._leftovers:
            self._outcome = Failure(TeardownError(self._leftovers, waited))
        self._cancelWaiters()
        for port in self._ports.values():
            if port.socketPath:
                removeSocketDirectory(port.socketPath)
        self._forget()
        waiters, self._closeWaiters = self._closeWaiters, []
        for waiter in waiters:
            if not waiter.called:
                waiter.callback(self._outcome)

    def _cancelWaiters(self) -> None:
        for waiters in self._serverWaiters.values():
            for waiter in waiters:
                cancelQuietly(waiter)
        for port in self._ports.values():
            for waiter in port.acceptWaiters:
                cancelQuietly(waiter)

    def _forget(self) -> None:
        for port in self._ports.values():
            port.detach()
        for hook in self._factoryHooks.values():
            hook.remove()
        for connection in self._connections.values():
            connection.detach()
        self._ports.clear()
        self._factoryHooks.clear()
        self._connections.clear()
        self._connectors.clear()
        self._pools.clear()
        self._runningAttempts.clear()
        self._serversByPeer.clear()
        self._serverWaiters.clear()
        self._readersAtClose.clear()
        self._abortedAt.clear()
        self._leftovers = []

    # Reporting

    def _leftover(self, connection: Connection, action: str) -> Leftover:
        return Leftover(
            role=connection.role,
            kind=connection.kind,
            local=connection.hostText,
            peer=connection.peerText,
            origin=connection.origin,
            cause=self._cause(connection),
            action=action,
        )

    def _portLeftover(self, port: Port, action: str) -> Leftover:
        return Leftover("port", port.kind, port.hostText, "", port.origin, "", action)

    def _cause(self, connection: Connection) -> str:
        """
        Say what is known to keep a connection open.
        """
        transport = connection.transport
        underlying = socketTransport(transport)
        producer = _applicationProducer(transport)
        if producer is not None:
            return (
                f"a registered producer ({type(producer).__qualname__}) that was "
                f"never unregistered"
            )
        unsent = _unsentBytes(underlying) + sum(
            len(data) for data in getattr(transport, "_appSendBuffer", ())
        )
        if unsent:
            return f"{unsent} bytes the peer did not read"
        if underlying not in self._readersAtClose:
            if IHalfCloseableProtocol.providedBy(connection.protocol):
                return (
                    "a half-closed connection: the peer closed its side and "
                    "the protocol (IHalfCloseableProtocol) never closed its own"
                )
            return "a transport that was not reading (paused)"
        if underlying is not transport and getattr(transport, "_tlsConnection", None):
            return "a TLS close_notify the peer never answered"
        return ""

    # Bookkeeping

    def _checkOpen(self) -> None:
        if self._closing:
            raise RuntimeError(
                "this trialnet Network is closed or closing; open ports and "
                "connections before its teardown starts"
            )

    def _hookFactory(self, factory: IProtocolFactory) -> FactoryHook:
        hook = self._factoryHooks.get(id(factory))
        if hook is None:
            hook = FactoryHook(factory, self._serverBuilt, self._serverRefused)
            self._factoryHooks[id(factory)] = hook
        return hook

    def _unhookFactory(self, hook: FactoryHook) -> None:
        if not hook.ports:
            for key, value in list(self._factoryHooks.items()):
                if value is hook:
                    del self._factoryHooks[key]
            hook.remove()

    def _addPort(
        self,
        port: IListeningPort,
        origin: Origin,
        hook: FactoryHook | None,
        listening: bool,
        family: str,
    ) -> Port:
        record = Port(port, origin, listening, family)
        self._ports[id(port)] = record
        if hook is not None:
            hook.ports.append(record)
        return record

    def _trackPort(self, port: IListeningPort, origin: Origin) -> None:
        if id(port) in self._ports:
            return
        # Observe the application's factory inside TLS (listenSSL) and other
        # wrapping factories, so that its protocols are closed through them.
        factory = applicationFactory(getattr(port, "factory", None))
        hook = None
        if IProtocolFactory.providedBy(factory) and hasattr(factory, "__dict__"):
            hook = self._hookFactory(factory)
        self._addPort(
            port, origin, hook, bool(getattr(port, "connected", True)), portFamily(port)
        )

    def _trackProtocol(self, protocol: IProtocol, origin: Origin, role: str) -> None:
        known = self._connections.get(id(protocol))
        if known is not None and known.protocol is protocol and not known.closed:
            return
        transport = getattr(protocol, "transport", None)
        if transport is None or not getattr(protocol, "connected", True):
            raise ValueError(
                f"track() takes a connected protocol; {protocol!r} is not connected"
            )
        connection = self._newConnection(role, origin, protocol)
        connection.adoptConnected(transport)
        self._connectionMade(connection)

    def _portAt(self, key: AddressKey | None) -> Port | None:
        """
        Find the tracked stream port that an end with address C{key} belongs
        to, or C{None}.
        """
        if key is not None:
            for port in self._ports.values():
                if port.hostKey is not None and portServes(port.hostKey, key):
                    return port
        return None

    def _newConnection(
        self, role: str, origin: Origin, protocol: IProtocol
    ) -> Connection:
        connection = Connection(
            role, origin, protocol, self._connectionMade, self._connectionLost
        )
        if isinstance(protocol, Recorder) and protocol.waitTimeout is None:
            if self.waitTimeout is not None:
                protocol.waitTimeout = self.waitTimeout
            elif self._testWaitTimeout is not None:
                protocol.waitTimeout = self._testWaitTimeout()
        self._connections[id(protocol)] = connection
        return connection

    def _serverRefused(self, hook: FactoryHook) -> None:
        self._unixServerKey(hook)

    def _unixServerKey(self, hook: FactoryHook) -> AddressKey | None:
        """
        Count a connection accepted by the UNIX port of a factory, and make
        the key that pairs it with its client (see L{_pairUNIX}).  The
        accepted socket does not say which port accepted it, so this needs
        the factory to serve one UNIX port.
        """
        unixPorts = [port for port in hook.ports if port.family == "unix"]
        if len(unixPorts) != 1 or unixPorts[0].hostKey is None:
            return None
        return self._nextUNIXKey("server", unixPorts[0].hostKey[1])

    def _serverBuilt(self, hook: FactoryHook, protocol: IProtocol) -> IProtocol | None:
        origin = hook.ports[0].origin if hook.ports else callerOrigin()
        pairKey = self._unixServerKey(hook)
        try:
            connection = self._newConnection("server", origin, protocol)
        except (TypeError, ValueError):
            log.err(
                None,
                "trialnet refused a connection its factory's protocol cannot serve",
            )
            return None
        connection.pairKey = pairKey
        connection.watchConnect()
        return protocol

    def _connectionMade(self, connection: Connection) -> None:
        self._open.add(connection)
        self._pairUNIX(connection)
        if connection.role == "server":
            self._serverMade(connection)
        if self._closing:
            self._loseConnection(connection)
        if connection.attempt is not None:
            connection.attempt.made()

    def _pairUNIX(self, connection: Connection) -> None:
        """
        Give the ends of UNIX connections keys that pair them up.

        A UNIX client is unnamed and its server's peer too, so addresses do
        not tell connections apart; but a port accepts connections in the
        order the kernel queued them, which is the order their clients
        connected (each client's protocol is built in the same call as its
        successful C{connect}).  So the n-th client built for a path, and
        the n-th connection its port accepted, are counted when their
        protocols are built (also when a factory builds none), and paired.
        """
        if connection.pairKey is None:
            return
        if connection.role == "server":
            connection.peerKey = connection.pairKey
        elif connection.role == "client":
            connection.hostKey = connection.pairKey

    def _nextUNIXKey(self, role: str, path: str) -> AddressKey:
        count = self._unixCounts.get((role, path), 0) + 1
        self._unixCounts[role, path] = count
        return ("unix", path, count)

    def _serverMade(self, connection: Connection) -> None:
        protocol = connection.protocol
        assert protocol is not None
        port = self._portAt(connection.hostKey)
        if port is not None:
            connection.origin = port.origin
            if port.acceptWaiters:
                connection.claimed = True
                port.acceptWaiters.popleft().callback(protocol)
            else:
                port.unclaimed.append(connection)
        key = connection.peerKey
        if key is None:
            return
        self._serversByPeer[key] = connection
        waiters = self._serverWaiters.pop(key, [])
        if waiters:
            connection.claimed = True
        for waiter in waiters:
            waiter.callback(protocol)

    def _connectionLost(self, connection: Connection) -> None:
        self._markClosed(connection)
        waiters, connection.closeWaiters = connection.closeWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _markClosed(self, connection: Connection) -> None:
        self._open.discard(connection)
        self._checkDone()


_NEVER_ENDED = "an endpoint %s that neither finished nor stopped when cancelled"


def _guarded(
    call: Callable[[], object], what: str, connection: Connection | None = None
) -> None:
    """
    Run application code for the teardown; what it raises is logged (so the
    test reports it) and the teardown goes on.

    @param what: What the call does, for the log.
    @param connection: The connection it is done to, named in the log.
    """
    try:
        call()
    except Exception:
        if connection is not None:
            what = f"{what} {connection.kind}"
        log.err(None, f"trialnet teardown: error while {what}")


def _applicationProducer(transport: object) -> object:
    """
    The producer the application registered on a transport, seen through the
    adapters a TLS transport puts around it.
    """
    if socketTransport(transport) is transport:
        producer = getattr(transport, "producer", None)
    else:
        producer = vars(transport).get("_producer")
    while hasattr(producer, "_producer"):
        producer = producer._producer  # type: ignore[union-attr]
    return producer


def _unsentBytes(transport: object) -> int:
    """
    Count what a transport still buffers for its peer, for the report.
    """
    buffered = getattr(transport, "dataBuffer", b"")
    offset = getattr(transport, "offset", 0)
    pending = getattr(transport, "_tempDataLen", 0)
    try:
        return max(0, len(buffered) - offset) + pending
    except TypeError:
        return 0
