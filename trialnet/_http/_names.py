# -*- test-case-name: tests.http.test_names,tests.http.test_tlsNames -*-
"""
Host names mapped to a network's ports for the length of a test: the code
under test connects to C{api.example.com}, as its configuration says, and
reaches one of the test's ports.

The mapping goes through the reactor's name resolver, so that everything
that resolves names through the reactor finds it: a
L{HostnameEndpoint<twisted.internet.endpoints.HostnameEndpoint>}, and so an
L{Agent<twisted.web.client.Agent>} and treq, through
L{IHostnameResolver<twisted.internet.interfaces.IHostnameResolver>}, which
gives the port too; and C{reactor.resolve} or C{reactor.connectTCP(name,
number)}, through L{IResolverSimple
<twisted.internet.interfaces.IResolverSimple>}, which gives the address
only.  One resolver wraps each reactor while any network maps a name, and
is taken away when the last one is done, only if it is still the one
installed.  Names nobody mapped go to the resolvers that were there before.
"""

from __future__ import annotations

import ipaddress
import re
import weakref
from collections.abc import Sequence
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IListeningPort,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
    IResolverSimple,
)
from zope.interface import implementer

from .._core._record import Hook
from .._sockets._addresses import describeAddress, reachable
from .._sockets._ports import PortRecord
from .._sockets._targets import PortFront, listeningAddress
from .._sockets._tls import coverName, uncoverName

#: One label of a host name: letters, digits and inner hyphens.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

_MISSING = object()

Address = IPv4Address | IPv6Address


def checkHostName(name: object) -> str:
    """
    @return: C{name} in lower case, without a final dot, when it is a host
        name.
    @raise TypeError: When it is not a string.
    @raise ValueError: When it is an IP literal, or not a valid host name.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"mapName() takes a host name string such as 'api.example.com', "
            f"not {name!r}"
        )
    text = name.lower().removesuffix(".")
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError(
            f"mapName() takes a host name such as 'api.example.com', not the IP "
            f"literal {name!r}: an address needs no mapping, connect to the "
            f"port itself"
        )
    labels = text.split(".")
    if len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            f"mapName() takes a host name such as 'api.example.com' (ASCII "
            f"letters, digits and hyphens, in labels of 1 to 63 separated by "
            f"dots; the xn-- form for an internationalised name), not {name!r}"
        )
    return text


def nameTarget(registry: Any, target: object) -> tuple[Address, int]:
    """
    Where a name mapped to C{target} leads.

    @param registry: The network's registry, which knows its ports.
    @param target: What the user passed: a port, or a link in front of one.
    @return: The address the name resolves to (where C{target} listens;
        loopback for a port listening on every interface), and the number
        of the port whose certificate is to cover the name: the port's own,
        or for a link the port behind it, which serves its TLS.
    @raise TypeError: If C{target} is neither a listening port nor a link.
    @raise ValueError: If it is not a port of the network, not listening,
        or not a TCP or TLS port (or a link in front of one).
    """
    if isinstance(target, PortFront) and target.servedElsewhere:
        # A server child: names lead to where it serves.
        problem = target.frontProblem()
        if problem is not None:
            raise ValueError(str(problem))
        address = _ipAddress(target, target.frontAddress(), target.frontTransport.name)
        return address, address.port
    if isinstance(target, PortFront):
        behind = target.frontTarget()
        if behind is None:
            raise ValueError(f"{target!r} is closed with its test")
        address = _ipAddress(target, target.frontAddress(), target.frontTransport.name)
        return address, listeningAddress(behind).port
    if not IListeningPort.providedBy(target):
        raise TypeError(
            f"mapName() takes a listening port of this test (from listen() or "
            f"listenTLS()) or a link in front of one, not {target!r}"
        )
    record: PortRecord | None = registry.portOf(target)
    if record is None:
        raise ValueError(
            f"mapName() takes a port of this test (from listen(), listenTLS() "
            f"or opened by the code under test), not {target!r}"
        )
    if getattr(target, "disconnecting", False):
        raise ValueError(f"{target!r} is not listening")
    address = _ipAddress(target, listeningAddress(target), record.transport.name)
    return address, address.port


def _ipAddress(target: object, address: object, kind: str) -> Address:
    """
    @return: C{address}, a TCP address, with loopback for every interface.
    @raise ValueError: For another kind of address, naming C{kind}.
    """
    if (
        kind == "udp"
        or not isinstance(address, (IPv4Address, IPv6Address))
        or address.type != "TCP"
    ):
        raise ValueError(
            f"mapName() maps names to TCP or TLS ports and links in front of "
            f"them; {target!r} is a {kind.upper()} "
            f"{'link' if isinstance(target, PortFront) else 'port'}"
        )
    return reachable(address)


class NameMap:
    """
    The names one network maps, each to the address of one of its ports.
    """

    def __init__(self, reactor: Any) -> None:
        """
        @param reactor: The reactor whose resolver finds the names.
        @raise TypeError: If it has no pluggable name resolver.
        """
        if not IReactorPluggableNameResolver.providedBy(reactor):
            raise TypeError(
                f"mapName() needs a reactor with a pluggable name resolver "
                f"(IReactorPluggableNameResolver), not {reactor!r}"
            )
        self._reactor = reactor
        self._addresses: dict[str, Address] = {}
        self._covered: dict[str, int] = {}
        self._resolver: MappingResolver | None = None

    def map(self, name: str, address: Address, covered: int) -> None:
        """
        Map C{name} (checked) to C{address}, instead of where it went before.

        @param covered: The number of the port whose certificate is to
            cover C{name}: C{address}'s, or the TLS port behind a link.
        """
        previous = self._covered.pop(name, None)
        self._addresses.pop(name, None)
        if previous is not None:
            uncoverName(name, previous)
        self._addresses[name] = address
        self._covered[name] = covered
        coverName(name, covered)
        if self._resolver is None:
            self._resolver = MappingResolver.on(self._reactor)
            self._resolver.add(self)

    def lookup(self, name: str | bytes) -> Address | None:
        """
        @return: Where C{name} is mapped, or C{None}.
        """
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        return self._addresses.get(name.lower().removesuffix("."))

    def close(self) -> None:
        """
        Unmap every name.
        """
        self._addresses = {}
        covered, self._covered = self._covered, {}
        for name, number in covered.items():
            uncoverName(name, number)
        resolver, self._resolver = self._resolver, None
        if resolver is not None:
            resolver.remove(self)


class NameHook(Hook):
    """
    A network's names, in its teardown: they stay mapped while everything
    closes (a client that reconnects meanwhile still finds the test's port,
    not the real host), and are unmapped when the teardown forgets.
    """

    role = "names"

    def __init__(self, names: NameMap) -> None:
        self.names = names

    def forget(self) -> None:
        self.names.close()


@implementer(IHostResolution)
class _Resolution:
    """
    A resolution of a mapped name, complete when it begins.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        pass


@implementer(IHostnameResolver)
class MappingResolver:
    """
    The name resolver of a reactor while networks map names on it: the
    innermost network that maps a name answers, others go to the resolver
    that was installed before.
    """

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._maps: list[weakref.ref[NameMap]] = []
        instance = vars(reactor)
        self._saved = {
            name: instance.get(name, _MISSING) for name in ("_nameResolver", "resolver")
        }
        self.previous: IHostnameResolver = reactor.nameResolver
        previousSimple = getattr(reactor, "resolver", None)
        reactor.installNameResolver(self)
        self._simple: object = None
        if IResolverSimple.providedBy(previousSimple):
            self._simple = instance["resolver"] = SimpleMappingResolver(
                self, previousSimple
            )

    @classmethod
    def on(cls, reactor: Any) -> MappingResolver:
        """
        The resolver of C{reactor}, installed now if it is not yet.
        """
        resolver = _installed.get(id(reactor))
        if resolver is None:
            resolver = _installed[id(reactor)] = cls(reactor)
        return resolver

    def add(self, names: NameMap) -> None:
        key = id(self._reactor)

        def gone(reference: weakref.ref[NameMap]) -> None:
            self._drop(key, reference)

        self._maps.append(weakref.ref(names, gone))

    def remove(self, names: NameMap) -> None:
        for reference in list(self._maps):
            if reference() is names:
                self._drop(id(self._reactor), reference)

    def _drop(self, key: int, reference: weakref.ref[NameMap]) -> None:
        if reference in self._maps:
            self._maps.remove(reference)
        if not self._maps and _installed.get(key) is self:
            del _installed[key]
            self._restore()

    def _restore(self) -> None:
        reactor = self._reactor
        if reactor.nameResolver is not self:
            # Someone installed a resolver over this one: theirs to put back.
            return
        instance = vars(reactor)
        for name, saved in self._saved.items():
            if saved is _MISSING:
                instance.pop(name, None)
            else:
                instance[name] = saved
        if reactor.nameResolver is self:
            # A reactor that keeps its resolver elsewhere.
            reactor.installNameResolver(self.previous)

    def lookup(self, name: str | bytes) -> Address | None:
        """
        @return: Where the innermost network that maps C{name} maps it, or
            C{None}.
        """
        for reference in reversed(self._maps):
            names = reference()
            address = None if names is None else names.lookup(name)
            if address is not None:
                return address
        return None

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        A mapped name resolves at once to its port's address, with the
        port's number, whatever C{portNumber} was asked; for C{UDP} or an
        address type other than the port's, to nothing.  Other names go to
        the previous resolver.
        """
        address = self.lookup(hostName)
        if address is None:
            return self.previous.resolveHostName(
                resolutionReceiver,
                hostName,
                portNumber,
                addressTypes,
                transportSemantics,
            )
        resolution = _Resolution(str(hostName))
        resolutionReceiver.resolutionBegan(resolution)
        wanted = addressTypes is None or any(
            isinstance(address, kind) for kind in addressTypes
        )
        if transportSemantics == "TCP" and wanted:
            resolutionReceiver.addressResolved(address)
        resolutionReceiver.resolutionComplete()
        return resolution


#: The resolver installed on each reactor, by the reactor's id.
_installed: dict[int, MappingResolver] = {}


@implementer(IResolverSimple)
class SimpleMappingResolver:
    """
    The reactor's simple resolver (C{reactor.resolve}, and so
    C{reactor.connectTCP} with a name) while names are mapped: a mapped name
    gives its port's address, but no port, which C{IResolverSimple} cannot
    give.
    """

    def __init__(self, mapping: MappingResolver, previous: IResolverSimple) -> None:
        self._mapping = mapping
        self.previous = previous

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        address = self._mapping.lookup(name)
        if address is None:
            return self.previous.getHostByName(name, timeout)
        if isinstance(address, IPv6Address):
            return fail(
                DNSLookupError(
                    f"{name} is mapped to {describeAddress(address)}, which "
                    f"reactor.resolve cannot give: connect through a "
                    f"HostnameEndpoint"
                )
            )
        return succeed(address.host)
