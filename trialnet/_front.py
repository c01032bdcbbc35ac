# -*- test-case-name: tests.test_api,tests.test_exports -*-
"""
The public API's typed signatures, with their bodies, written once for both
fronts: L{trialnet.Network} and L{trialnet.NetworkTestCase} inherit
L{NetworkAPI}, and each says which network's parts act (its own, or the
current network of the test's run).  What each method does is documented
once, on L{INetwork<trialnet.INetwork>}; a test checks that both
declarations agree.
"""

from __future__ import annotations

import inspect
import os
import re
import weakref
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, overload

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol, Factory

from ._core._defaults import (
    BACKLOG,
    CONNECT_TIMEOUT,
    DEFAULT_WAIT,
    INTERFACE,
    MAX_PACKET_SIZE,
    PROCESS_TIMEOUT,
)
from ._core._phases import Phase
from ._core._report import Origin, userOrigin
from ._core._seconds import checkSeconds
from ._core._teardown import Teardown
from ._processes._records import recordProcess
from ._sockets._endpoints import TrackingClientEndpoint
from ._sockets._interfaces import IUDPPort
from ._sockets._opening import Opener
from ._sockets._registry import Registry
from ._sockets._targets import (
    PortFront,
    checkIPLiteral,
    checkPortNumber,
    checkServerTLS,
)
from ._sockets._tls import TLSAuthority, processAuthority
from ._waits._interfaces import IBoundedWaits
from ._waits._waits import Waits

if TYPE_CHECKING:
    from twisted.internet.protocol import _ProtoWithFactory
    from twisted.web.client import Agent, HTTPConnectionPool

    from ._http._names import NameMap
    from ._links._datagrams import DatagramLink
    from ._links._links import Link
    from ._processes._server import ServerProcess

_T = TypeVar("_T")
_P = TypeVar("_P", bound=IProtocol)
# Twisted types Factory[P] with P bound to this private protocol.
_FP = TypeVar("_FP", bound="_ProtoWithFactory")

# Read once: a member read through its enum class costs a lookup through
# the metaclass's attribute hook (Python 3.11); read at every listen and
# connect.
_OPEN = Phase.OPEN
_DONE = Phase.DONE
_MISSING = object()


class NetworkParts:
    """
    The parts of one network that the bodies of L{NetworkAPI} call: what is
    open (C{registry}), what opens it (C{opener}), the waits, the teardown,
    and the host names mapped to its ports.  It also receives what the code
    under test opens on the reactor while the network observes it.

    It refers to its network weakly, so that a network dropped unclosed is
    freed at once (and stops observing).
    """

    names: NameMap | None = None

    def __init__(
        self,
        reactor: Any,
        network: weakref.ref[Any],
        disconnectTimeout: float,
        strict: bool,
        processTimeout: float = PROCESS_TIMEOUT,
    ) -> None:
        """
        @param network: The network, whose C{waitTimeout} and C{failFast}
            are read when it connects or accepts a protocol and at each
            wait.
        """
        self.reactor = reactor
        # No part refers back to these parts, or to the network, strongly.
        self.registry = Registry(reactor, partial(_configure, network))
        self.teardown = Teardown(
            reactor, self.registry, disconnectTimeout, strict, processTimeout
        )
        self.checkOpen = partial(_checkOpen, self.teardown)
        self.opener = Opener(reactor, self.registry, self.checkOpen, weakref.ref(self))
        self.waits = Waits(self.registry, network)

    def observedPort(self, port: Any, origin: Origin) -> None:
        """
        The code under test listened by itself: the port joins the teardown.
        """
        if self.teardown.phase is not _DONE:
            self.registry.adoptPort(port, origin, observed=True)

    def observedConnector(self, connector: Any, origin: Origin) -> None:
        """
        The code under test connected by itself: its connections join the
        teardown.
        """
        if self.teardown.phase is not _DONE:
            self.registry.addConnector(connector, origin, observed=True)

    def startBound(self, startTimeout: object) -> float:
        """
        The bound of a server child's start: C{startTimeout}, or the
        network's C{waitTimeout} (a share of the test's own timeout), or
        L{DEFAULT_WAIT}.
        """
        if startTimeout is not None:
            return checkSeconds(startTimeout, "startTimeout")
        network = self.waits.owner
        waitTimeout = None if network is None else network.waitTimeout
        if waitTimeout is None:
            return DEFAULT_WAIT
        return checkSeconds(waitTimeout, "waitTimeout")

    def observedProcess(
        self, process: Any, argv: Sequence[str], origin: Origin
    ) -> None:
        """
        The code under test started a process on the reactor: it is stopped
        in the teardown, once the connections closed.
        """
        if self.teardown.phase is not _DONE:
            recordProcess(self.registry, process, argv, origin, observed=True)

    def mappedAddress(self, name: str) -> tuple[str, int] | None:
        """
        Where a name mapped with C{mapName} leads, for the network's agent
        and C{connect()}: C{(host, port)}, or C{None} for a name it did not
        map.
        """
        address = None if self.names is None else self.names.lookup(name)
        return None if address is None else (address.host, address.port)


def _checkOpen(teardown: Teardown) -> None:
    """
    @raise RuntimeError: Unless the network of C{teardown} may still open
        things.
    """
    if teardown.phase is not _OPEN:
        raise RuntimeError(
            "this trialnet Network is closed or closing; open ports and "
            "connections before its teardown starts"
        )


def _configure(network: weakref.ref[Any], protocol: object) -> None:
    """
    Give a protocol the network connected or accepted the network's bound
    and C{failFast} for its waits, unless it set its own; nothing once the
    network is gone (a port it left open may accept, and must not see
    trialnet fail).
    """
    owner = network()
    # Shaped for speed (every protocol connected or accepted): one that has
    # no failFast, as most have none, cannot take the settings, and is not
    # asked for its interfaces (zope's providedBy: about 2,000
    # instructions, against 500 for the lookup).
    if (
        owner is not None
        and getattr(protocol, "failFast", _MISSING) is not _MISSING
        and IBoundedWaits.providedBy(protocol)
    ):
        if owner.waitTimeout is not None and protocol.waitTimeout is None:
            protocol.waitTimeout = owner.waitTimeout
        if protocol.failFast is None:
            protocol.failFast = owner.failFast


class NetworkAPI:
    """
    The methods of L{INetwork<trialnet.INetwork>}, typed, each acting on
    the parts of the network that L{_parts} gives.
    """

    def _parts(self) -> NetworkParts:
        """
        The parts of the network that acts.
        """
        raise NotImplementedError

    @property
    def tlsAuthority(self) -> TLSAuthority:
        return processAuthority()

    def listen(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = INTERFACE,
        backlog: int = BACKLOG,
    ) -> IListeningPort:
        parts = self._parts()
        return parts.opener.listenIP(
            userOrigin(), factory, port, interface, backlog, None
        )

    def listenTLS(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = INTERFACE,
        backlog: int = BACKLOG,
        options: object = None,
    ) -> IListeningPort:
        parts = self._parts()
        origin = userOrigin()
        if options is None:
            options = self.tlsAuthority.serverOptions()
        checkServerTLS(options)
        return parts.opener.listenIP(origin, factory, port, interface, backlog, options)

    def listenUNIX(
        self, factory: IProtocolFactory, backlog: int = BACKLOG
    ) -> IListeningPort:
        return self._parts().opener.listenUNIX(userOrigin(), factory, backlog)

    def listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = INTERFACE,
        maxPacketSize: int = MAX_PACKET_SIZE,
    ) -> IUDPPort:
        parts = self._parts()
        return parts.opener.listenUDP(
            userOrigin(), protocol, port, interface, maxPacketSize
        )

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: Factory[_FP],
        timeout: float = CONNECT_TIMEOUT,
        tlsOptions: object = None,
    ) -> Deferred[_FP]: ...

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: _P,
        timeout: float = CONNECT_TIMEOUT,
        tlsOptions: object = None,
    ) -> Deferred[_P]: ...

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = CONNECT_TIMEOUT,
        tlsOptions: object = None,
    ) -> Deferred[IProtocol]: ...

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = CONNECT_TIMEOUT,
        tlsOptions: object = None,
    ) -> Deferred[Any]:
        parts = self._parts()
        return parts.opener.connect(
            userOrigin(), target, factoryOrProtocol, timeout, tlsOptions
        )

    def serverEndpoint(
        self,
        transport: str = "tcp",
        port: int = 0,
        interface: str = INTERFACE,
        backlog: int = BACKLOG,
    ) -> IStreamServerEndpoint:
        parts = self._parts()
        origin = userOrigin()
        checkPortNumber(port, "port", allowZero=True)
        checkIPLiteral(interface, "interface")
        checkPortNumber(backlog, "backlog", allowZero=False)
        return parts.opener.serverEndpoint(origin, transport, port, interface, backlog)

    def clientEndpoint(
        self,
        target: object,
        timeout: float = CONNECT_TIMEOUT,
        tlsOptions: object = None,
    ) -> IStreamClientEndpoint:
        parts = self._parts()
        origin = userOrigin()
        checkSeconds(timeout, "timeout")
        opener = parts.opener
        opener.dialer(target, timeout, tlsOptions)

        def connect(factory: IProtocolFactory) -> Deferred[IProtocol]:
            return opener.connect(origin, target, factory, timeout, tlsOptions)

        return TrackingClientEndpoint(connect, target, timeout, tlsOptions, parts)

    def agent(
        self,
        pool: HTTPConnectionPool | None = None,
        connectTimeout: float = CONNECT_TIMEOUT,
    ) -> Agent:
        # twisted.web is imported by the tests that use HTTP, not by every
        # test that imports trialnet.
        from ._http._http import agentOn

        parts = self._parts()
        origin = userOrigin()
        parts.checkOpen()
        timeout = checkSeconds(connectTimeout, "connectTimeout")
        return agentOn(parts.opener, parts.registry, origin, pool, timeout, parts)

    @overload
    def url(self, port: IListeningPort | PortFront, path: bytes = b"/") -> bytes: ...

    @overload
    def url(self, port: IListeningPort | PortFront, path: str) -> str: ...

    def url(
        self, port: IListeningPort | PortFront, path: str | bytes = b"/"
    ) -> str | bytes:
        from ._http._http import urlOf

        parts = self._parts()
        if isinstance(port, PortFront):
            if port.servedElsewhere:
                from ._http._http import urlAt

                return urlAt(port.frontAddress(), port.frontTransport.secure, path)
            port = port.frontPort() or port
        return urlOf(parts.registry.portOf(port), port, path)

    @overload
    def acceptedProtocol(
        self, port: IListeningPort, expected: type[_P], unwrap: bool = True
    ) -> Deferred[_P]: ...

    @overload
    def acceptedProtocol(
        self,
        port: IListeningPort,
        expected: type[IProtocol] | None = None,
        unwrap: bool = True,
    ) -> Deferred[IProtocol]: ...

    def acceptedProtocol(
        self,
        port: IListeningPort,
        expected: type[_P] | None = None,
        unwrap: bool = True,
    ) -> Deferred[Any]:
        return self._parts().waits.accepted(port, expected, unwrap)

    def whenClosed(self, protocol: IProtocol) -> Deferred[None]:
        return self._parts().waits.closed(protocol)

    def whenHandshakeDone(self, protocol: IProtocol) -> Deferred[None]:
        parts = self._parts()
        parts.checkOpen()
        return parts.waits.handshake(protocol)

    def whenCalled(
        self, target: object, name: str, timeout: float | None = None
    ) -> Deferred[inspect.BoundArguments]:
        parts = self._parts()
        parts.checkOpen()
        return parts.waits.called(target, name, timeout)

    @overload
    def serverProtocolFor(
        self, client: IProtocol, expected: type[_P], unwrap: bool = True
    ) -> Deferred[_P]: ...

    @overload
    def serverProtocolFor(
        self,
        client: IProtocol,
        expected: type[IProtocol] | None = None,
        unwrap: bool = True,
    ) -> Deferred[IProtocol]: ...

    def serverProtocolFor(
        self, client: IProtocol, expected: type[_P] | None = None, unwrap: bool = True
    ) -> Deferred[Any]:
        return self._parts().waits.serverFor(client, expected, unwrap)

    @overload
    def track(self, thing: IStreamClientEndpoint) -> IStreamClientEndpoint: ...

    @overload
    def track(self, thing: IStreamServerEndpoint) -> IStreamServerEndpoint: ...

    @overload
    def track(self, thing: _T) -> _T: ...

    def track(self, thing: object) -> object:
        parts = self._parts()
        origin = userOrigin()
        parts.checkOpen()
        return parts.opener.track(thing, origin)

    def mapName(self, name: str, port: IListeningPort | PortFront) -> None:
        from ._http._names import NameHook, NameMap, checkHostName, nameTarget

        parts = self._parts()
        parts.checkOpen()
        hostName = checkHostName(name)
        address, covered = nameTarget(parts.registry, port)
        if parts.names is None:
            names = NameMap(parts.reactor)
            parts.registry.addHook(NameHook(names))
            parts.names = names
        parts.names.map(hostName, address, covered)

    def link(self, target: IListeningPort | PortFront, seed: int | None = None) -> Link:
        from ._links._links import Link, openLink

        parts = self._parts()
        origin = userOrigin()
        parts.checkOpen()
        where = parts.reactor, parts.registry, origin
        return openLink(Link, "link", where, target, seed)

    def spawnServer(
        self,
        argv: Sequence[str | bytes],
        readyLine: bytes | re.Pattern[bytes] | None = None,
        env: Mapping[str, str] | Mapping[bytes, bytes] | None = None,
        path: str | bytes | os.PathLike[str] | None = None,
        startTimeout: float | None = None,
    ) -> Deferred[ServerProcess]:
        from ._processes._arguments import checkArgv, checkEnv, checkPath
        from ._processes._ready import checkReadyLine
        from ._processes._spawn import spawnServer

        parts = self._parts()
        origin = userOrigin()
        parts.checkOpen()
        encoded = checkArgv(argv)
        pattern = checkReadyLine(readyLine)
        environment = checkEnv(env)
        directory = checkPath(path)
        bound = parts.startBound(startTimeout)
        return spawnServer(
            parts.reactor,
            parts.registry,
            origin,
            tuple(argv),
            encoded,
            pattern,
            environment,
            directory,
            bound,
        )

    def datagramLink(
        self, target: IListeningPort, seed: int | None = None
    ) -> DatagramLink:
        from ._links._datagrams import DatagramLink
        from ._links._links import openLink

        parts = self._parts()
        origin = userOrigin()
        parts.checkOpen()
        where = parts.reactor, parts.registry, origin
        return openLink(DatagramLink, "datagramLink", where, target, seed)
