# -*- test-case-name: tests.test_api,tests.test_exports -*-
"""
trialnet's public API (L{INetwork}, by subject in the interfaces it
extends), written once for L{trialnet.Network} and
L{trialnet.NetworkTestCase}.  The typed signatures, with their bodies, are
L{NetworkAPI<trialnet._front.NetworkAPI>}'s; a test checks that both agree.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from twisted.internet.interfaces import IListeningPort
from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import (
        IProtocol,
        IProtocolFactory,
        IStreamClientEndpoint,
        IStreamServerEndpoint,
    )
    from twisted.internet.protocol import AbstractDatagramProtocol
    from twisted.web.client import Agent, HTTPConnectionPool

    from ._links._datagrams import DatagramLink
    from ._links._links import Link
    from ._processes._server import ServerProcess
    from ._sockets._interfaces import IUDPPort


class INetworkOpening(Interface):
    """
    The part of L{trialnet.INetwork} that opens: ports and connections
    (TCP, TLS, UNIX, UDP), endpoints for code under test, an HTTP client and
    the URLs of ports, host names mapped to ports, and the tracking of what
    was opened by other means.  Whatever is opened here closes at the
    teardown.
    """

    def listen(
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

    def listenTLS(
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
        options: object = None,
    ) -> IListeningPort:
        """
        Listen for TLS connections over TCP; L{connect} to the port verifies
        the server against L{tlsAuthority<trialnet.INetwork.tlsAuthority>}.
        The protocols keep the reactor's TLS transport and every interface
        (ALPN, C{handshakeCompleted}); C{connectionMade} comes before the
        handshake, as with the reactor.

        @param options: Server TLS options (an
            L{IOpenSSLServerConnectionCreator
            <twisted.internet.interfaces.IOpenSSLServerConnectionCreator>} or
            an old-style context factory); by default a certificate signed by
            L{tlsAuthority<trialnet.INetwork.tlsAuthority>} for C{localhost},
            C{127.0.0.1} and C{::1}.
        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}, listening.
        @raise ImportError: If the C{tls} extra is not installed.
        @raise TypeError: If an argument has the wrong type.
        @raise ValueError: As for L{listen}.
        """

    def listenUNIX(factory: IProtocolFactory, backlog: int = 50) -> IListeningPort:
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

    def listenUDP(
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IUDPPort:
        """
        Listen for UDP datagrams; the port is stopped, once, and waited for
        at the teardown.

        @param protocol: The application's L{DatagramProtocol
            <twisted.internet.protocol.DatagramProtocol>}.
        @param port: The port number; 0 lets the kernel choose.
        @param interface: An IPv4 or IPv6 literal; loopback by default.
        @param maxPacketSize: The largest datagram read.
        @return: The reactor's UDP port, typed as L{IUDPPort}: it listens
            and writes.
        @raise TypeError: If C{protocol} is not a datagram protocol, or an
            argument has the wrong type.
        @raise ValueError: As for L{listen}.
        """

    def connect(
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
            tuple, or any
            L{IStreamClientEndpoint<twisted.internet.interfaces.IStreamClientEndpoint>}.
            The host of a tuple is an IP literal, C{localhost} (the loopback
            address of this test's port with that number), or a name mapped
            with L{mapName} (its port, whatever the number); no other name
            is resolved.
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
            against L{tlsAuthority<trialnet.INetwork.tlsAuthority>}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            client protocol after its C{connectionMade} ran (a C{Deferred[P]}
            for a C{Factory[P]} or a C{P}), or fails with the reactor's error
            (C{ConnectionRefusedError}, say), leaving nothing open.
            Cancelling it stops the attempt.
        @raise TypeError: If an argument has the wrong type.
        @raise ValueError: If the host is a name, a number is out of range,
            the port is not listening, or the protocol instance is already
            connected.
        """

    def serverEndpoint(
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

    def clientEndpoint(
        target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        """
        An endpoint for code under test that connects through endpoints (an
        L{Agent<twisted.web.client.Agent>}, a service): each of its
        connections is made by L{connect} and joins this network's teardown.

        @param target: What L{connect} takes.
        @return: An
            L{IStreamClientEndpoint<twisted.internet.interfaces.IStreamClientEndpoint>}.
        """

    def track(thing: object) -> object:
        """
        Track, in the same teardown, something opened before the test, or by
        means trialnet cannot see (what the code under test opens on the
        reactor during the test joins by itself).

        @param thing: An L{IListeningPort<twisted.internet.interfaces.IListeningPort>}
            (its factory's future connections are tracked too), an
            L{IConnector<twisted.internet.interfaces.IConnector>} (stopped if still
            connecting, its connection closed if connected), a connected protocol, an
            L{HTTPConnectionPool<twisted.web.client.HTTPConnectionPool>} (or anything
            with C{closeCachedConnections()}: its cached connections are closed and its
            timers cancelled), an endpoint, or a running
            L{IService<twisted.application.service.IService>} (stopped, and
            waited for, so that a service that reconnects stops doing so).
        @return: C{thing}, or for an endpoint a tracking endpoint that makes
            its connections (or ports) through it.
        @raise TypeError: For anything else.
        @raise ValueError: For a protocol that is not connected.
        """

    def agent(
        pool: HTTPConnectionPool | None = None, connectTimeout: float = 30.0
    ) -> Agent:
        """
        An HTTP client for this test's servers, as Go's C{httptest} gives:
        its connections, its pool and the pool's timers join the teardown.
        Every connection is made through L{connect}, with the host names it
        takes (any other fails the request with a C{ValueError}), recorded
        with the line of its request.  An C{https} URL is verified against
        L{tlsAuthority<trialnet.INetwork.tlsAuthority>} for the URL's host
        (C{127.0.0.1}, C{[::1]}, C{localhost} or a name mapped with
        L{mapName}; a TLS error for any other).  See L{url} for a port's.

        @param pool: The connection pool to use; by default a new persistent
            L{HTTPConnectionPool<twisted.web.client.HTTPConnectionPool>}.
            Either way it joins the teardown, as with L{track}: its cached
            connections are closed and its timers cancelled.
        @param connectTimeout: Seconds each connection attempt may take.
        @return: A new L{Agent<twisted.web.client.Agent>}, also usable as
            C{treq.client.HTTPClient(agent)}.
        @raise TypeError: If C{pool} is not a connection pool, or
            C{connectTimeout} not a number.
        @raise ValueError: If C{connectTimeout} is not positive and finite.
        """

    def url(port: IListeningPort, path: Any = b"/") -> Any:
        """
        The URL of one of this test's TCP ports, for L{agent} or any client.

        @param port: A port of L{listen} or L{listenTLS}, or one the code
            under test opened on the reactor, listening; a server child;
            or a L{link<trialnet.INetworkLinks.link>} in front of one.
        @param path: The path, with any query, beginning with C{/}.
        @return: C{http://127.0.0.1:N/path}, or C{https://...} for a TLS
            port; an IPv6 host is bracketed (C{http://[::1]:N/}), and a port
            listening on every interface is reached through loopback.  Bytes
            (for an L{Agent<twisted.web.client.Agent>}) when C{path} is
            bytes, as by default, and C{str} (for C{treq}) when it is a
            C{str}.
        @raise TypeError: If C{port} is not a listening port, or C{path} is
            neither bytes nor C{str}.
        @raise ValueError: If C{port} is not a port of this test, is not
            listening, or is a UDP or UNIX port; or C{path} does not begin
            with C{/}.
        """

    def mapName(name: str, port: IListeningPort) -> None:
        """
        Map a host name to one of this test's ports (or a
        L{link<trialnet.INetworkLinks.link>} in front of one) for the length
        of the test, through the reactor's name resolver: code under test
        configured with C{https://api.example.com/} reaches the port through
        a C{HostnameEndpoint}, an C{Agent}, treq, L{agent} or L{connect},
        whatever port number it asks for, and its connections join the
        teardown.  The run's certificate covers the name (by server name
        indication).  C{reactor.resolve(name)} gives no port, so
        C{connectTCP(name, number)} reaches it only with its own number.
        Mapping again moves a name; names stay mapped while the teardown
        closes, and the resolvers are put back when it ends (see the HTTP
        how-to page).

        @param name: A host name such as C{"api.example.com"} or
            C{"localhost"}, case-insensitive (ASCII; the C{xn--} form for an
            internationalised name).
        @param port: A TCP or TLS port of this test (from L{listen},
            L{listenTLS}, or opened by the code under test), listening; a
            server child; or a L{Link<trialnet.Link>} in front of one.
        @raise TypeError: If C{name} is not a string or C{port} neither a
            listening port nor a link, or the reactor has no pluggable name
            resolver.
        @raise ValueError: If C{name} is an IP literal or not a valid host
            name, or C{port} is not a port of this test, not listening, or a
            UDP or UNIX port (or a link in front of a UNIX port).
        """

    def spawnServer(
        argv: Any,
        readyLine: Any = None,
        env: Any = None,
        path: Any = None,
        startTimeout: float | None = None,
    ) -> Deferred[ServerProcess]:
        """
        Start a server in a child process (POSIX), a target wherever a port
        is, handed a socket listening on C{127.0.0.1} by systemd socket
        activation (C{systemd:domain=INET:index=0} serves on it), or ready
        once a line of its output matches C{readyLine}.  A child that ends
        before it is ready, or by C{startTimeout}, fails the start; one
        that ends during the test, after, fails the test, unless the test
        waits for it with C{whenExited()}.  See the how-to on processes.

        @param argv: The program and its arguments, C{str} or C{bytes}.
        @param readyLine: A pattern of bytes with a C{port} group.
        @param env: The child's whole environment (else this one's).
        @param path: Its working directory (else this one's).
        @param startTimeout: Seconds to wait for the ready line; the
            network's C{waitTimeout} by default, else 10.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} of the
            L{ServerProcess<trialnet.ServerProcess>}, or failing with a
            L{ServerProcessError<trialnet.ServerProcessError>}.
        @raise TypeError: For an argument of the wrong type.
        @raise ValueError: For an empty C{argv}, no C{port} group, a
            C{path} that is no directory, or a bad C{startTimeout}.
        """


class INetworkWaits(Interface):
    """
    The part of L{trialnet.INetwork} that waits for what happens on its
    connections: the server end of a client, a connection a port accepted,
    a close, a TLS handshake, a method call.  Each returns a
    L{Deferred<twisted.internet.defer.Deferred>}; with
    L{failFast<trialnet.INetwork.failFast>}, on by default, an error logged
    while one is pending fails it at once.
    """

    def serverProtocolFor(
        client: IProtocol, expected: type[IProtocol] | None = None, unwrap: bool = True
    ) -> Deferred[IProtocol]:
        """
        Find the protocol one of this network's ports built for the other end
        of a client connection: the application's, inside every
        C{ProtocolWrapper} of a wrapping factory (C{ThrottlingFactory},
        C{TimeoutFactory}, C{FTPFactory}); with C{unwrap=False}, the
        outermost one (above TLS).  On a UNIX socket ends are paired in the
        order they connected, so every client of that port must come from
        this process; use L{acceptedProtocol} for another process's.

        @param client: A client protocol of this network, whoever connected
            it (L{connect<trialnet.INetworkOpening.connect>}, or the code
            under test), or a protocol inside one (the protocol
            C{ClientService.whenConnected()} gives, inside the proxy the
            service connected); it may have closed since (ends are matched
            on the addresses recorded when it connected).
        @param expected: The class the server protocol should be an instance
            of; the implementations then return a C{Deferred} of that class.
        @param unwrap: Whether to give the application's protocol inside
            every wrapper (by default), or with C{False} the outermost one.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            server protocol once its C{connectionMade} ran.  If the teardown comes
            first, it fails with C{CancelledError}.  It fails with C{TypeError},
            naming both classes, if the protocol is not an C{expected}.
        @raise TypeError: If C{unwrap} is not a C{bool}.
        @raise ValueError: If C{client} is not a client of this network, or is
            not connected to one of this network's ports.
        """

    def acceptedProtocol(
        port: IListeningPort,
        expected: type[IProtocol] | None = None,
        unwrap: bool = True,
    ) -> Deferred[IProtocol]:
        """
        Wait for a protocol a port built, for clients this network did not
        open (another process, a raw socket, code under test).

        @param port: A stream port of this network.
        @param expected: As for L{serverProtocolFor}.
        @param unwrap: As for L{serverProtocolFor}: the application's
            protocol inside every L{ProtocolWrapper
            <twisted.protocols.policies.ProtocolWrapper>} by default, the
            outermost one with C{False}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            oldest server protocol of that port not yet handed out by this method or
            L{serverProtocolFor}, once its C{connectionMade} ran (at once if there is
            one already).  If the teardown comes first, it fails with
            C{CancelledError}.  It fails with C{TypeError} as for
            L{serverProtocolFor}.
        @raise TypeError: If C{unwrap} is not a C{bool}.
        @raise ValueError: If C{port} is not a stream port of this network.
        """

    def whenClosed(protocol: IProtocol) -> Deferred[None]:
        """
        Wait for one tracked connection end to close.

        @param protocol: A client or server protocol of this network, or one
            tracked with L{track<trialnet.INetworkOpening.track>}, or a
            protocol inside one (as for L{serverProtocolFor}).
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with C{None}
            after the protocol's C{connectionLost} ran, at once if it already has.
        @raise ValueError: If this network does not track C{protocol}.
        """

    def whenHandshakeDone(protocol: IProtocol) -> Deferred[None]:
        """
        Wait for the TLS handshake of one connected end.  C{connect()} fires
        at C{connectionMade}, before the handshake, as the reactor does; a
        certificate that fails verification closes the connection later.
        This wait fails with the TLS error itself instead.

        @param protocol: A client or server protocol of this network,
            connected over TLS.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            with C{None} once the handshake is over (at once if it is), or
            fails with the TLS error (an C{OpenSSL.SSL.Error}, or
            C{service_identity}'s C{VerificationError} for a certificate
            issued to another host name) if the connection is lost first,
            or with L{trialnet.WaitTimeoutError} after the bound of a
            L{trialnet.Recorder}'s waits on this network.  A wait still
            pending when the teardown begins is given up quietly.
        @raise ValueError: If C{protocol} is not a connected TLS end of this
            network.
        """

    def whenCalled(
        target: object, name: str, timeout: float | None = None
    ) -> Deferred[inspect.BoundArguments]:
        """
        Wait for the next call of one method on one object (a protocol's
        C{lineReceived}, say).  The method is replaced on that instance until
        the call, then put back; it runs as it would have, and the wait
        fires after it returned (the object's state is the call's), inside
        the call's caller, as a Recorder's wait does.

        @param target: The object, such as a server protocol from
            L{serverProtocolFor}; it needs an instance dictionary.
        @param name: The method's name, such as C{"lineReceived"}.
        @param timeout: Seconds to wait; by default the bound of a
            L{trialnet.Recorder}'s waits on this network.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            with the call's C{inspect.BoundArguments} (C{.args},
            C{.kwargs}, and C{.arguments} by parameter name); it fails with
            what the method raised, with L{trialnet.WaitTimeoutError} after
            the bound, or, with L{failFast<trialnet.INetwork.failFast>}, with
            an error logged meanwhile.
        @raise TypeError: If C{name} is not a string, or C{target} has no
            instance dictionary.
        @raise ValueError: If C{target} has no such method, or a wait on it
            is pending already.
        """


class INetworkLinks(Interface):
    """
    The part of L{trialnet.INetwork} that puts a bad network between
    clients and a port of the test: an in-process relay whose conditions the
    test sets while connections are open.
    """

    def link(target: IListeningPort, seed: int | None = None) -> Link:
        """
        Put a bad network between clients and one of this test's stream
        ports: an in-process relay, on real sockets, whose conditions the
        test sets and changes while connections are open (latency and
        jitter, bandwidth, slices, a byte limit, hold and release,
        blackhole, reset, down and up; for each direction or both).

        A link is a target wherever a port is, and
        L{serverProtocolFor<trialnet.INetworkWaits.serverProtocolFor>} pairs
        its client with the server end the relay reached.  It forwards bytes
        (a TLS client still verifies the real server), closes in the
        teardown as a clean pass-through, and is aborted at its bound, held
        or blackholed; a leftover end that crossed it names it and its seed.

        @param target: A TCP, TLS or UNIX port of this test, listening, or
            a server child.
        @param seed: The seed of the link's random source (jitter); a
            random one by default, in C{link.seed}, the link's C{repr} and
            the test's log, so a run can be replayed.
        @return: The L{Link<trialnet._links._links.Link>}.
        @raise TypeError: If C{target} is not a port of this test, or
            C{seed} not an int.
        @raise ValueError: If C{target} is a UDP port or is not listening.
        """

    def datagramLink(target: IListeningPort, seed: int | None = None) -> DatagramLink:
        """
        Put a bad network between clients and one of this test's UDP ports:
        an in-process relay that drops, duplicates, reorders and delays
        datagrams, each way or one way, from a seeded random source.
        Clients send to the link's C{getHost()}; the server sees each client
        as a socket of the relay's, and its answers go back through the
        link.  A method of its own, rather than L{link}, so that each gives
        back one type.

        @param target: A UDP port of this test, listening.
        @param seed: As for L{link}.
        @return: The L{DatagramLink<trialnet._links._datagrams.DatagramLink>}.
        @raise TypeError: If C{target} is not a port of this test, or
            C{seed} not an int.
        @raise ValueError: If C{target} is a stream port or is not listening.
        """


class INetwork(INetworkOpening, INetworkWaits, INetworkLinks):
    """
    The public API of L{trialnet.Network} and L{trialnet.NetworkTestCase}:
    open ports and connections that close by themselves.  Its methods are
    declared by subject in L{INetworkOpening}, L{INetworkWaits} and
    L{INetworkLinks}; the attributes are its own.

    Everything opened through it, tracked with
    L{track<trialnet.INetworkOpening.track>}, or opened by the code under
    test on the reactor while it is open (C{listenTCP}, C{connectTCP},
    C{listenSSL}, C{connectSSL}, C{listenUNIX}, C{connectUNIX},
    C{listenUDP}, and so endpoints, strports, an C{Agent}, PB and services)
    joins one teardown: ports stop listening, connection attempts stop,
    every connection end is closed, and all of it is waited for, for at
    most C{disconnectTimeout} seconds before what is left is aborted and
    reported.  Then the child processes started with C{spawnProcess} while
    it was open are stopped (SIGTERM) and reaped, for at most
    C{processTimeout} seconds before what is left is sent SIGQUIT, then
    SIGKILL, and reported.
    """

    disconnectTimeout = Attribute(
        "Seconds allowed for an orderly close before the teardown aborts what "
        "is left (5 by default)."
    )
    processTimeout = Attribute(
        "Seconds the child processes started during the test (by the code "
        "under test, or spawnServer) have to end after SIGTERM, to them or "
        "the process group they lead, before SIGQUIT, then SIGKILL (5 by "
        "default).  Only one that had to be killed fails the teardown, named "
        "with its argv, pid, end (and a server's output); the bound counts "
        "only when the test started processes."
    )
    strictCleanup = Attribute(
        "Whether what the code under test opened by itself, and left open when "
        "the teardown began (a port it never stopped, a connection it never "
        "closed, a retry it left pending), fails the teardown with a report "
        "naming the line that opened it.  Off by default: such things are "
        "closed quietly, and reported only when they had to be aborted."
    )
    failFast = Attribute(
        "Whether an error logged while a wait is pending (a protocol that "
        "raised in dataReceived, which the reactor logs) fails that wait at "
        "once with the error itself, rather than at its bound.  On by "
        "default; read at each of this network's waits, and by each "
        "trialnet.Recorder when it connects (set the Recorder's own "
        "failFast after that).  Turn it off for a test that expects the "
        "code under test to log an error while it waits."
    )
    virtualTime = Attribute(
        "Whether the reactor's own clock is virtual while the test runs, "
        "jumping to the next timer whenever nothing else can happen, with "
        "bytes still crossing the loopback (off by default; read once, when a "
        "test's run starts or a Network is made; see docs/time.rst).  trial's "
        "timeout, trialnet's bounds and everything after the test stay real.  "
        "Networks open together on one reactor must agree on it (ValueError); "
        "virtualTimeBudget and virtualTimeStall tune it."
    )
    tlsAuthority = Attribute(
        "The L{trialnet.TLSAuthority} made for this process (once, on first "
        "use), which signs the certificate of "
        "L{listenTLS<trialnet.INetworkOpening.listenTLS>}: its PEM file for "
        "external clients, client and server options for C{startTLS}, and "
        "client certificates for mutual TLS.  Reading it raises ImportError "
        "when the C{tls} extra is not installed."
    )
