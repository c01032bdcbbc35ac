"""
L{Network}, the front of trialnet's core: it checks arguments once, records
the calling line, picks a transport and delegates to the registry of what is
open, the pairing, and the teardown.  Its API is documented once, on
L{INetwork<trialnet._interfaces.INetwork>}.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol
from zope.interface import implementer

if TYPE_CHECKING:
    from twisted.web.client import Agent, HTTPConnectionPool

    from ._datagrams import DatagramLink
    from ._links import Link
    from ._names import NameMap

from ._endpoints import TrackingClientEndpoint
from ._failfast import stopWatching
from ._front import NetworkFront
from ._interfaces import IBoundedWaits, INetwork, IUDPPort
from ._observe import observe, stopObserving
from ._opening import Opener
from ._registry import Registry
from ._report import Origin, callerOrigin
from ._seconds import checkSeconds
from ._targets import (
    PortFront,
    checkIPLiteral,
    checkPortNumber,
    checkServerTLS,
)
from ._teardown import Phase, Teardown
from ._waits import Waits

_T = TypeVar("_T")
_P = TypeVar("_P", bound=IProtocol)


@implementer(INetwork)
class Network(NetworkFront):
    """
    One test's listening ports and connections, and their teardown; see
    L{INetwork<trialnet._interfaces.INetwork>} for each method.

    L{trialnet.NetworkTestCase} makes one per test; use it directly from a
    fixture of another test runner.  From its making until it is closed, it
    observes the reactor and takes what the code under test opens there, so
    close every network you make.  One dropped unclosed stops observing as
    it is freed, and leaves open whatever it had open.
    """

    #: Whether it observes the reactor by itself, from its making until its
    #: teardown ends (a test's network is handed what its run observes).
    _observesItself = True

    def __init__(
        self,
        reactor: Any = None,
        disconnectTimeout: float = 5.0,
        waitTimeout: float | None = None,
        strictCleanup: bool = False,
        failFast: bool = True,
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
        @param failFast: Whether a logged error fails pending waits at once
            (see L{INetwork.failFast<trialnet._interfaces.INetwork.failFast>}).
        @raise TypeError: If C{disconnectTimeout} is not a number.
        @raise ValueError: If it is not positive and finite.
        """
        timeout = checkSeconds(disconnectTimeout, "disconnectTimeout")
        if waitTimeout is not None:
            waitTimeout = checkSeconds(waitTimeout, "waitTimeout")
        if reactor is None:
            from twisted.internet import reactor as globalReactor  # noqa: N812

            reactor = globalReactor
        self.waitTimeout = waitTimeout
        self.failFast = bool(failFast)
        self._reactor: Any = reactor
        # Its parts refer back weakly: dropped unclosed, it is freed at once.
        owner = weakref.ref(self)
        self._registry = Registry(reactor, _weakMethod(self._configure))
        self._teardown = Teardown(reactor, self._registry, timeout, bool(strictCleanup))
        checkOpen = _weakMethod(self._checkOpen)
        self._opener = Opener(reactor, self._registry, checkOpen, owner)
        self._waits = Waits(self._registry, owner)
        if self._observesItself:
            observe(reactor, self)

    @property
    def disconnectTimeout(self) -> float:
        return self._teardown.disconnectTimeout

    @disconnectTimeout.setter
    def disconnectTimeout(self, seconds: float) -> None:
        self._teardown.disconnectTimeout = checkSeconds(seconds, "disconnectTimeout")

    @property
    def strictCleanup(self) -> bool:
        return self._teardown.strict

    @strictCleanup.setter
    def strictCleanup(self, strict: bool) -> None:
        self._teardown.strict = bool(strict)

    def _network(self) -> Network:
        return self

    # Opening (each method is called by its namesake without the underscore,
    # in NetworkFront)

    # The front gives every argument: no defaults here, they are the front's.

    def _listen(
        self, factory: IProtocolFactory, port: int, interface: str, backlog: int
    ) -> IListeningPort:
        return self._opener.listenIP(
            callerOrigin(), factory, port, interface, backlog, None
        )

    def _listenTLS(
        self,
        factory: IProtocolFactory,
        port: int,
        interface: str,
        backlog: int,
        options: object,
    ) -> IListeningPort:
        origin = callerOrigin()
        if options is None:
            options = self.tlsAuthority.serverOptions()
        checkServerTLS(options)
        return self._opener.listenIP(origin, factory, port, interface, backlog, options)

    def _listenUNIX(
        self, factory: IProtocolFactory, backlog: int = 50
    ) -> IListeningPort:
        return self._opener.listenUNIX(callerOrigin(), factory, backlog)

    def _listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IUDPPort:
        return self._opener.listenUDP(
            callerOrigin(), protocol, port, interface, maxPacketSize
        )

    def _connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[Any]:
        return self._opener.connect(
            callerOrigin(), target, factoryOrProtocol, timeout, tlsOptions
        )

    def _serverEndpoint(
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
        return self._opener.serverEndpoint(origin, transport, port, interface, backlog)

    def _clientEndpoint(
        self, target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        origin = callerOrigin()
        checkSeconds(timeout, "timeout")
        self._opener.dialer(target, timeout, tlsOptions)

        def connect(factory: IProtocolFactory) -> Deferred[IProtocol]:
            return self._opener.connect(origin, target, factory, timeout, tlsOptions)

        return TrackingClientEndpoint(connect, target, timeout, tlsOptions, self)

    def _track(self, thing: object) -> object:
        origin = callerOrigin()
        self._checkOpen()
        return self._opener.track(thing, origin)

    # HTTP

    def _agent(
        self, pool: HTTPConnectionPool | None = None, connectTimeout: float = 30.0
    ) -> Agent:
        # twisted.web is imported by the tests that use HTTP, not by every
        # test that imports trialnet.
        from ._http import agentOn

        origin = callerOrigin()
        self._checkOpen()
        timeout = checkSeconds(connectTimeout, "connectTimeout")
        return agentOn(self._opener, self._registry, origin, pool, timeout, self)

    def _url(
        self, port: IListeningPort | PortFront, path: str | bytes = b"/"
    ) -> str | bytes:
        from ._http import urlOf

        if isinstance(port, PortFront):
            port = port.frontPort() or port
        return urlOf(self._registry.portOf(port), port, path)

    # Waiting

    def _serverProtocolFor(
        self, client: IProtocol, expected: type[_P] | None, unwrap: bool
    ) -> Deferred[Any]:
        return self._waits.serverFor(client, expected, unwrap)

    def _acceptedProtocol(
        self, port: IListeningPort, expected: type[_P] | None, unwrap: bool
    ) -> Deferred[Any]:
        return self._waits.accepted(port, expected, unwrap)

    def _whenClosed(self, protocol: IProtocol) -> Deferred[None]:
        return self._waits.closed(protocol)

    def _whenHandshakeDone(self, protocol: IProtocol) -> Deferred[None]:
        origin = callerOrigin()
        self._checkOpen()
        return self._waits.handshake(protocol, origin)

    def _whenCalled(
        self, target: object, name: str, timeout: float | None = None
    ) -> Deferred[inspect.BoundArguments]:
        origin = callerOrigin()
        self._checkOpen()
        return self._waits.called(target, name, timeout, origin)

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
        stopWatching(self)

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
        if IBoundedWaits.providedBy(protocol):
            if self.waitTimeout is not None and protocol.waitTimeout is None:
                protocol.waitTimeout = self.waitTimeout
            if protocol.failFast is None:
                protocol.failFast = self.failFast

    def _checkOpen(self) -> None:
        if self._teardown.phase is not Phase.OPEN:
            raise RuntimeError(
                "this trialnet Network is closed or closing; open ports and "
                "connections before its teardown starts"
            )

    # Names

    _names: NameMap | None = None

    def _mapName(self, name: str, port: IListeningPort | PortFront) -> None:
        from ._names import NameHook, NameMap, checkHostName, nameTarget

        origin = callerOrigin()
        self._checkOpen()
        hostName = checkHostName(name)
        address, covered = nameTarget(self._registry, port)
        if self._names is None:
            names = NameMap(self._reactor)
            self._registry.addHook(NameHook(names, origin))
            self._names = names
        self._names.map(hostName, address, covered)

    def mappedAddress(self, name: str) -> tuple[str, int] | None:
        """
        Where a name this network mapped with C{mapName} leads, for its
        L{agent}: C{(host, port)}, or C{None} for a name it did not map.
        """
        address = None if self._names is None else self._names.lookup(name)
        return None if address is None else (address.host, address.port)

    # Links

    def _link(self, target: IListeningPort, seed: int | None = None) -> Link:
        from ._links import openLink

        origin = callerOrigin()
        self._checkOpen()
        return openLink(self._reactor, self._registry, origin, target, seed)

    def _datagramLink(
        self, target: IListeningPort, seed: int | None = None
    ) -> DatagramLink:
        from ._datagrams import openDatagramLink

        origin = callerOrigin()
        self._checkOpen()
        return openDatagramLink(self._reactor, self._registry, origin, target, seed)


def _weakMethod(method: Callable[..., None]) -> Callable[..., None]:
    """
    Call a network's C{method} while the network lives; then nothing (a port
    it left open may accept, and must not see trialnet fail).
    """
    reference = weakref.WeakMethod(method)

    def call(*args: Any) -> None:
        alive = reference()
        if alive is not None:
            alive(*args)

    return call
