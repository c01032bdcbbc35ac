# -*- test-case-name: tests.sockets.test_pairing,tests.sockets.test_transports -*-
"""
Addresses, in one place: what identifies one end of a connection or a port
(the keys that pairing uses), where a client reaches a port listening on
every interface (the one loopback table), and an address's text in reports,
descriptions and URLs.
"""

from __future__ import annotations

import os

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress

#: C{(family, host or path, port or sequence number)}.
AddressKey = tuple[str, str, int]

#: Where a client reaches a port listening on every interface: the loopback
#: address of the same family.
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}

_ANY_HOSTS = frozenset(LOOPBACK)
_LOOPBACK_HOSTS = frozenset(LOOPBACK.values())
_FAMILIES = {"TCP": "tcp", "UDP": "udp"}
_MAPPED = "::ffff:"


def addressKey(address: IAddress | None) -> AddressKey | None:
    """
    Reduce an address to what identifies one end of a connection.

    An IPv4 peer of a port listening on C{"::"} is seen as an IPv4-mapped
    IPv6 address (C{::ffff:127.0.0.1}); it is keyed as the IPv4 address it
    is, so that both ends of the connection agree.

    @return: C{("tcp" or "udp", host, port)} for IP addresses, C{("unix",
        path, 0)} for a UNIX address with a path, else C{None}.
    """
    # Shaped for speed (four keys a connection): an IPv4 address, as nearly
    # every one is, is keyed at once; it cannot be IPv4-mapped.
    if type(address) is IPv4Address:
        return (_FAMILIES.get(address.type, "tcp"), address.host, address.port)
    if isinstance(address, (IPv4Address, IPv6Address)):
        host = address.host
        if host.startswith(_MAPPED) and "." in host:
            host = host[len(_MAPPED) :]
        return (_FAMILIES.get(address.type, "tcp"), host, address.port)
    name = getattr(address, "name", None)
    if isinstance(name, (str, bytes)) and name:
        return ("unix", os.fsdecode(name), 0)
    return None


def portServes(portKey: AddressKey, key: AddressKey) -> bool:
    """
    Whether a port with address C{portKey} is the one an end with address
    C{key} belongs to (its local address for a server end, its peer's for a
    client end).
    """
    family, host, number = key
    if portKey[0] != family:
        return False
    if family == "unix":
        return portKey[1] == host
    return portKey[2] == number and (portKey[1] == host or portKey[1] in _ANY_HOSTS)


def reachableHost(host: str) -> str:
    """
    The host a client connects to, to reach a port listening on C{host}:
    loopback for every interface, else C{host} itself.

    Written out in C{connectionTarget} too (shaped for speed).
    """
    return LOOPBACK.get(host, host)


def reachable(address: IPv4Address | IPv6Address) -> IPv4Address | IPv6Address:
    """
    The address a client connects to, to reach a port listening at
    C{address} (see L{reachableHost}).
    """
    host = LOOPBACK.get(address.host)
    return address if host is None else type(address)(address.type, host, address.port)


def loopbackOf(host: str) -> str | None:
    """
    The loopback address through which a port listening on C{host} is
    reached, or C{None} when it is not reached through loopback.
    """
    host = reachableHost(host)
    return host if host in _LOOPBACK_HOSTS else None


def hostText(host: str) -> str:
    """
    A host as it is written before C{:port}: an IPv6 literal in brackets.
    """
    return f"[{host}]" if ":" in host else host


def describeAddress(address: object) -> str:
    """
    Render an address for the report and for descriptions.

    @param address: An L{IAddress<twisted.internet.interfaces.IAddress>}
        provider, or C{None}.
    @return: C{host:port} for IP addresses (C{[host]:port} for IPv6), the
        path of a UNIX socket, else the address's own text.
    """
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is not None and port is not None:
        return f"{hostText(host)}:{port}"
    name = getattr(address, "name", None)
    if isinstance(name, (str, bytes)) and name:
        return os.fsdecode(name)
    return "?" if address is None else str(address)
