# -*- test-case-name: tests.sockets.test_pairing,tests.sockets.test_transports -*-
"""
What identifies one end of a connection, or a port: the keys that pairing
and the report use.
"""

from __future__ import annotations

import os

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress

#: C{(family, host or path, port or sequence number)}.
AddressKey = tuple[str, str, int]

_ANY_HOSTS = frozenset({"0.0.0.0", "::"})
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
