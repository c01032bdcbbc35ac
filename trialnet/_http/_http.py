# -*- test-case-name: tests.http.test_http -*-
"""
HTTP as Go's C{httptest} does it, on top of the core: the URL of one of a
network's ports, and an L{Agent<twisted.web.client.Agent>} whose pool and
connections join the network's teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.web.client import URI, Agent, HTTPConnectionPool
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from .._core._report import Origin, userOrigin
from .._sockets._addresses import describeAddress, reachable
from .._sockets._endpoints import TrackingClientEndpoint
from .._sockets._hostnames import ipAddress, resolveName
from .._sockets._ports import PortRecord
from .._sockets._tls import processAuthority

#: How one connection is opened through the network: origin, C{(host, port)},
#: factory, timeout, client TLS options.
Connect = Callable[
    [Origin, tuple[str, int], IProtocolFactory, float, object], Deferred[IProtocol]
]


def urlOf(record: PortRecord | None, port: object, path: str | bytes) -> str | bytes:
    """
    The URL of one of a network's ports.

    @param record: The network's record of C{port}, if it has one.
    @param port: What the user passed, for the errors.
    @param path: The path (with any query), beginning with C{/}.
    @return: C{http://host:port/path}, or C{https://} for a TLS port, of the
        same type as C{path}.
    @raise TypeError: If C{path} is neither C{str} nor C{bytes}, or C{port}
        is not a listening port.
    @raise ValueError: If C{port} is not a port of the network, not
        listening, or not a TCP port, or C{path} does not begin with C{/}.
    """
    _checkPath(path)
    if not IListeningPort.providedBy(port):
        raise TypeError(f"url() takes a listening port, not {port!r}")
    if record is None:
        raise ValueError(
            f"url() takes a port of this test (from listen(), listenTLS() or "
            f"opened by the code under test), not {port!r}"
        )
    address = ipAddress(record)
    if address is None:
        raise ValueError(
            f"url() takes a TCP or TLS port; {port!r} is a "
            f"{record.transport.name.upper()} port"
        )
    return urlAt(address, record.transport.secure, path)


def urlAt(address: Any, secure: bool, path: str | bytes) -> str | bytes:
    """
    The URL of what serves at C{address} (a server child), or of one of a
    network's ports.

    @param address: An IPv4 or IPv6 TCP address.
    @param secure: Whether it serves HTTPS.
    @param path: The path, as L{urlOf} takes it.
    @raise TypeError: If C{path} is neither C{str} nor C{bytes}.
    @raise ValueError: If C{path} does not begin with C{/}.
    """
    text = _checkPath(path)
    scheme = "https" if secure else "http"
    url = f"{scheme}://{describeAddress(reachable(address))}{text}"
    return url.encode("ascii") if isinstance(path, bytes) else url


def _checkPath(path: object) -> str:
    """
    @return: C{path} as text.
    @raise TypeError: If it is neither C{str} nor C{bytes}.
    @raise ValueError: If it does not begin with C{/}.
    """
    if isinstance(path, bytes):
        text = path.decode("ascii")
    elif isinstance(path, str):
        text = path
    else:
        raise TypeError(f"url() takes a path of bytes or str, not {path!r}")
    if not text.startswith("/"):
        raise ValueError(f"url() takes a path beginning with '/', not {path!r}")
    return text


@implementer(IAgentEndpointFactory)
class NetworkEndpoints:
    """
    The endpoints of an L{Agent<twisted.web.client.Agent>} made by a network:
    each connection is made through the network, recorded with the line that
    made the request, and C{https} is verified against the run's
    L{TLSAuthority<trialnet.TLSAuthority>} for the URL's host.

    Hosts are IP literals, names the network mapped to one of its ports
    (whatever the URL's port), or C{localhost}, which means the loopback
    address where one of the network's ports with that number listens, so
    that no name is ever resolved.
    """

    def __init__(
        self,
        connect: Connect,
        ports: Callable[[], Iterable[PortRecord]],
        timeout: float,
        owner: object,
    ) -> None:
        """
        @param connect: Opens one connection through the network.
        @param ports: The network's ports now.
        @param timeout: Seconds each connection attempt may take.
        @param owner: The network's parts, which own the endpoints made
            here and say where the names it mapped lead (their
            C{mappedAddress}).
        """
        self._connect = connect
        self._ports = ports
        self._timeout = timeout
        self._owner = owner

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        """
        @return: An endpoint that connects to C{uri}'s host and port through
            the network, with TLS for C{https}.
        @raise ValueError: For a scheme other than C{http} and C{https}, or a
            host that is a name other than C{localhost}.
        """
        origin = userOrigin()
        if uri.scheme not in (b"http", b"https"):
            raise ValueError(
                f"trialnet's agent() fetches http and https URLs, not {uri.toBytes()!r}"
            )
        host = uri.host.decode("ascii")
        port = uri.port
        try:
            address, port = resolveName(
                host, port, self._ports, self._owner, "trialnet's agent()"
            )
        except ValueError as error:
            raise ValueError(
                f"{error} (the URL {uri.toBytes()!r}; url(port) gives the URL "
                f"of one of this test's ports)"
            ) from None
        tlsOptions = None
        if uri.scheme == b"https":
            tlsOptions = processAuthority().clientOptions(host)
        target = (address, port)
        timeout = self._timeout

        def connect(factory: IProtocolFactory) -> Deferred[IProtocol]:
            return self._connect(origin, target, factory, timeout, tlsOptions)

        return TrackingClientEndpoint(connect, target, timeout, tlsOptions, self._owner)


def agentOn(
    opener: Any,
    registry: Any,
    origin: Origin,
    pool: HTTPConnectionPool | None,
    connectTimeout: float,
    owner: object,
) -> Agent:
    """
    An L{Agent} whose connections the network of C{opener} and C{registry}
    opens and tracks, through C{pool}, which joins its teardown.

    @param pool: A pool, or C{None} for a new persistent one.
    @param owner: The network's parts, which own the endpoints made here.
    @raise TypeError: When C{pool} is not an C{HTTPConnectionPool}.
    """
    reactor = registry.reactor
    if pool is None:
        pool = HTTPConnectionPool(reactor, persistent=True)
    elif not callable(getattr(pool, "closeCachedConnections", None)):
        raise TypeError(f"agent() takes an HTTPConnectionPool, not {pool!r}")
    registry.addPool(pool, origin)
    endpoints = NetworkEndpoints(opener.connect, registry.ports, connectTimeout, owner)
    agent: Agent = Agent.usingEndpointFactory(reactor, endpoints, pool=pool)
    return agent
