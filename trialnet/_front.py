# -*- test-case-name: tests.test_exports -*-
"""
The public API's signatures, typed once for both fronts: L{trialnet.Network}
and L{trialnet.NetworkTestCase} inherit them, and each hands its arguments
to the network that acts (the network itself, or the test's network).  What
each method does is documented once, on
L{INetwork<trialnet._interfaces.INetwork>}.
"""

from __future__ import annotations

import inspect
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

from ._sockets._interfaces import IUDPPort
from ._sockets._targets import PortFront
from ._sockets._tls import TLSAuthority, processAuthority

if TYPE_CHECKING:
    from twisted.internet.protocol import _ProtoWithFactory
    from twisted.web.client import Agent, HTTPConnectionPool

    from ._links._datagrams import DatagramLink
    from ._links._links import Link
    from ._network import Network

_T = TypeVar("_T")
_P = TypeVar("_P", bound=IProtocol)
# Twisted types Factory[P] with P bound to this private protocol.
_FP = TypeVar("_FP", bound="_ProtoWithFactory")


class NetworkFront:
    """
    The methods of L{INetwork<trialnet._interfaces.INetwork>}, each handing
    its arguments to L{_network}'s implementation of the same name with a
    leading underscore.
    """

    def _network(self) -> Network:
        """
        The network that acts.
        """
        raise NotImplementedError

    @property
    def tlsAuthority(self) -> TLSAuthority:
        return processAuthority()

    def listen(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IListeningPort:
        return self._network()._listen(factory, port, interface, backlog)

    def listenTLS(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
        options: object = None,
    ) -> IListeningPort:
        return self._network()._listenTLS(factory, port, interface, backlog, options)

    def listenUNIX(
        self, factory: IProtocolFactory, backlog: int = 50
    ) -> IListeningPort:
        return self._network()._listenUNIX(factory, backlog)

    def listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IUDPPort:
        return self._network()._listenUDP(protocol, port, interface, maxPacketSize)

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
        return self._network()._connect(
            target,
            factoryOrProtocol,
            timeout,
            tlsOptions,
        )

    def serverEndpoint(
        self,
        transport: str = "tcp",
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IStreamServerEndpoint:
        return self._network()._serverEndpoint(transport, port, interface, backlog)

    def clientEndpoint(
        self, target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        return self._network()._clientEndpoint(target, timeout, tlsOptions)

    def agent(
        self, pool: HTTPConnectionPool | None = None, connectTimeout: float = 30.0
    ) -> Agent:
        return self._network()._agent(pool, connectTimeout)

    @overload
    def url(self, port: IListeningPort | PortFront, path: bytes = b"/") -> bytes: ...

    @overload
    def url(self, port: IListeningPort | PortFront, path: str) -> str: ...

    def url(
        self, port: IListeningPort | PortFront, path: str | bytes = b"/"
    ) -> str | bytes:
        return self._network()._url(port, path)

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
        return self._network()._acceptedProtocol(port, expected, unwrap)

    def whenClosed(self, protocol: IProtocol) -> Deferred[None]:
        return self._network()._whenClosed(protocol)

    def whenHandshakeDone(self, protocol: IProtocol) -> Deferred[None]:
        return self._network()._whenHandshakeDone(protocol)

    def whenCalled(
        self, target: object, name: str, timeout: float | None = None
    ) -> Deferred[inspect.BoundArguments]:
        return self._network()._whenCalled(target, name, timeout)

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
        return self._network()._serverProtocolFor(client, expected, unwrap)

    @overload
    def track(self, thing: IStreamClientEndpoint) -> IStreamClientEndpoint: ...

    @overload
    def track(self, thing: IStreamServerEndpoint) -> IStreamServerEndpoint: ...

    @overload
    def track(self, thing: _T) -> _T: ...

    def track(self, thing: object) -> object:
        return self._network()._track(thing)

    def mapName(self, name: str, port: IListeningPort | PortFront) -> None:
        self._network()._mapName(name, port)

    def link(self, target: IListeningPort, seed: int | None = None) -> Link:
        return self._network()._link(target, seed)

    def datagramLink(
        self, target: IListeningPort, seed: int | None = None
    ) -> DatagramLink:
        return self._network()._datagramLink(target, seed)
