# -*- test-case-name: tests.test_exports -*-
"""
L{INetworkOpening<trialnet.INetworkOpening>}: the part of the public API
that opens ports and connections, hands out endpoints and an HTTP client,
and adopts what was opened by other means, so that all of it joins the
teardown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zope.interface import Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import (
        IListeningPort,
        IProtocol,
        IProtocolFactory,
        IStreamClientEndpoint,
        IStreamServerEndpoint,
    )
    from twisted.internet.protocol import AbstractDatagramProtocol
    from twisted.web.client import Agent, HTTPConnectionPool

    from ._sockets._interfaces import IUDPPort


class INetworkOpening(Interface):
    """
    The part of L{trialnet.INetwork} that opens: ports and connections
    (TCP, TLS, UNIX, UDP), endpoints for code under test, an HTTP client and
    the URLs of ports, host names mapped to ports, and the adoption of what
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
            client protocol after its C{connectionMade} ran (typed: for a
            C{Factory[P]}, such as C{Factory.forProtocol(P)}, or a C{P}
            instance, the implementations return C{Deferred[P]}), or fails
            with the reactor's error (for example L{ConnectionRefusedError
            <twisted.internet.error.ConnectionRefusedError>}), leaving nothing open.
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
        Adopt into the same teardown something opened before the test, or by
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
        takes, and recorded with the line of the request that made it; any
        other name fails the request with a C{ValueError}.  An C{https} URL
        is verified against L{tlsAuthority<trialnet.INetwork.tlsAuthority>}
        for the URL's host: it reaches a L{listenTLS} port as
        C{https://127.0.0.1}, C{https://[::1]}, C{https://localhost} or a
        name mapped with L{mapName}, and fails with a TLS error for a
        certificate that does not cover the host.
        See L{url} for the URL of a port.

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
            under test opened on the reactor, listening; or a
            L{link<trialnet.INetworkLinks.link>} in front of one.
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
        Map a host name to one of this test's ports, or to a
        L{link<trialnet.INetworkLinks.link>} in front of one, for the length
        of the test, through the reactor's name resolver: code under test
        configured with C{https://api.example.com/} reaches the port (through
        the link and its conditions), through
        a L{HostnameEndpoint<twisted.internet.endpoints.HostnameEndpoint>},
        an L{Agent<twisted.web.client.Agent>}, treq, L{agent} or L{connect},
        whatever port number it asks for; its connections join the
        teardown.  The run's certificate covers the name on that port, or
        on the TLS port behind the link (by
        server name indication; give an C{Agent} of the code under test
        C{tlsAuthority.policyForHTTPS()}).  C{reactor.resolve(name)} gives
        an address without a port, so C{reactor.connectTCP(name, number)}
        reaches the port only when C{number} is its own.  Mapping a name
        again moves it; names stay mapped while the teardown closes, and the
        reactor's resolvers are put back when it ends.  The HTTP how-to page
        has the details and an example.

        @param name: A host name such as C{"api.example.com"} or
            C{"localhost"}, case-insensitive (ASCII; the C{xn--} form for an
            internationalised name).
        @param port: A TCP or TLS port of this test (from L{listen},
            L{listenTLS}, or opened by the code under test), listening; or
            a L{Link<trialnet.Link>} in front of one.
        @raise TypeError: If C{name} is not a string or C{port} neither a
            listening port nor a link, or the reactor has no pluggable name
            resolver.
        @raise ValueError: If C{name} is an IP literal or not a valid host
            name, or C{port} is not a port of this test, not listening, or a
            UDP or UNIX port (or a link in front of a UNIX port).
        """
