"""
L{Network}, the front of trialnet's core: it checks arguments once, records
the calling line, picks a transport and delegates to the registry of what is
open, the pairing, and the teardown.  Its API is documented once, on
L{INetwork<trialnet._interfaces.INetwork>}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IConnector,
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol, Factory
from zope.interface import implementer

if TYPE_CHECKING:
    from twisted.internet.protocol import _ProtoWithFactory
    from twisted.web.client import Agent, HTTPConnectionPool

from ._datagrams import DatagramLink, openDatagramLink
from ._endpoints import TrackingClientEndpoint, TrackingServerEndpoint
from ._interfaces import IBoundedWaits, INetwork
from ._links import Link, openLink
from ._observe import observe, stopObserving
from ._opening import Opener
from ._registry import Registry
from ._report import Origin, callerOrigin
from ._targets import (
    PortFront,
    checkIPLiteral,
    checkPortNumber,
    checkPositive,
    checkServerTLS,
)
from ._teardown import Phase, Teardown
from ._tls import TLSAuthority, processAuthority
from ._transports import TCP, TLS, UNIX

_T = TypeVar("_T")
_P = TypeVar("_P", bound=IProtocol)
# Twisted types Factory[P] with P bound to this private protocol.
_FP = TypeVar("_FP", bound="_ProtoWithFactory")


def expectInstance(
    built: Deferred[Any], expected: type[_P] | None, what: str
) -> Deferred[Any]:
    """
    Check, when C{built} fires, that its protocol is an instance of
    C{expected}, so a typed caller's C{Deferred[expected]} is not a lie.

    @param what: The method's name, for the error.
    @return: C{built}, failing with C{TypeError} naming both classes when
        the protocol is of another class; C{built} as it is when
        C{expected} is C{None}.
    """
    if expected is None:
        return built

    def check(protocol: object) -> object:
        if not isinstance(protocol, expected):
            raise TypeError(
                f"{what}() expected a {expected.__qualname__} but the port built "
                f"a {type(protocol).__qualname__}: {protocol!r}"
            )
        return protocol

    return built.addCallback(check)


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
        self._opener = Opener(reactor, self._registry, self._checkOpen, self)
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
        return self._opener.listenIP(
            callerOrigin(), factory, port, interface, backlog, None
        )

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
        return self._opener.listenIP(origin, factory, port, interface, backlog, options)

    def listenUNIX(
        self, factory: IProtocolFactory, backlog: int = 50
    ) -> IListeningPort:
        return self._opener.listenUNIX(callerOrigin(), factory, backlog)

    def listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IListeningPort:
        return self._opener.listenUDP(
            callerOrigin(), protocol, port, interface, maxPacketSize
        )

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: Factory[_FP],
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[_FP]: ...

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: _P,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[_P]: ...

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[IProtocol]: ...

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[Any]:
        return self._opener.connect(
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
                return self._opener.listenUNIX(origin, factory, backlog)
            options = self.tlsAuthority.serverOptions() if kind.secure else None
            return self._opener.listenIP(
                origin, factory, port, interface, backlog, options
            )

        where = "a private UNIX socket" if kind is UNIX else interface
        return TrackingServerEndpoint(listen, f"{transport} on {where}", self)

    def clientEndpoint(
        self, target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        origin = callerOrigin()
        checkPositive(timeout, "timeout")
        self._opener.dialer(target, timeout, tlsOptions)

        def connect(factory: IProtocolFactory) -> Deferred[IProtocol]:
            return self._opener.connect(origin, target, factory, timeout, tlsOptions)

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
            return self._opener.trackClientEndpoint(thing, origin)
        elif IStreamServerEndpoint.providedBy(thing):
            return self._opener.trackServerEndpoint(thing, origin)
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

    # HTTP

    def agent(
        self, pool: HTTPConnectionPool | None = None, connectTimeout: float = 30.0
    ) -> Agent:
        # twisted.web is imported by the tests that use HTTP, not by every
        # test that imports trialnet.
        from twisted.web.client import Agent, HTTPConnectionPool

        from ._http import NetworkEndpoints

        origin = callerOrigin()
        self._checkOpen()
        timeout = checkPositive(connectTimeout, "connectTimeout")
        if pool is None:
            pool = HTTPConnectionPool(self._reactor, persistent=True)
        elif not callable(getattr(pool, "closeCachedConnections", None)):
            raise TypeError(f"agent() takes an HTTPConnectionPool, not {pool!r}")
        self._registry.addPool(pool, origin)
        endpoints = NetworkEndpoints(
            self._opener.connect, self._registry.ports, timeout, self
        )
        agent: Agent = Agent.usingEndpointFactory(self._reactor, endpoints, pool=pool)
        return agent

    @overload
    def url(self, port: IListeningPort | PortFront, path: bytes = b"/") -> bytes: ...

    @overload
    def url(self, port: IListeningPort | PortFront, path: str) -> str: ...

    def url(
        self, port: IListeningPort | PortFront, path: str | bytes = b"/"
    ) -> str | bytes:
        from ._http import urlOf

        if isinstance(port, PortFront):
            port = port.frontPort() or port
        return urlOf(self._registry.portOf(port), port, path)

    # Waiting

    @overload
    def serverProtocolFor(
        self, client: IProtocol, expected: type[_P]
    ) -> Deferred[_P]: ...

    @overload
    def serverProtocolFor(
        self, client: IProtocol, expected: type[IProtocol] | None = None
    ) -> Deferred[IProtocol]: ...

    def serverProtocolFor(
        self, client: IProtocol, expected: type[_P] | None = None
    ) -> Deferred[Any]:
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
        return expectInstance(waiter, expected, "serverProtocolFor")

    @overload
    def acceptedProtocol(
        self, port: IListeningPort, expected: type[_P]
    ) -> Deferred[_P]: ...

    @overload
    def acceptedProtocol(
        self, port: IListeningPort, expected: type[IProtocol] | None = None
    ) -> Deferred[IProtocol]: ...

    def acceptedProtocol(
        self, port: IListeningPort, expected: type[_P] | None = None
    ) -> Deferred[Any]:
        record = self._registry.portOf(port)
        if record is None or not record.transport.stream:
            raise ValueError(
                f"acceptedProtocol() takes a stream port of this network, not {port!r}"
            )
        return expectInstance(
            self._registry.pairing.accepted(record), expected, "acceptedProtocol"
        )

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

    # Links

    def link(self, target: IListeningPort, seed: int | None = None) -> Link:
        origin = callerOrigin()
        self._checkOpen()
        return openLink(self._reactor, self._registry, origin, target, seed)

    def datagramLink(
        self, target: IListeningPort, seed: int | None = None
    ) -> DatagramLink:
        origin = callerOrigin()
        self._checkOpen()
        return openDatagramLink(self._reactor, self._registry, origin, target, seed)
