"""
Checks of what users pass in, made before anything is opened.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IListeningPort, IProtocol, IProtocolFactory

_ANY_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def checkIPLiteral(host: object, what: str) -> str:
    """
    @return: C{host}, when it is an IPv4 or IPv6 literal.
    @raise TypeError: When C{host} is not a string.
    @raise ValueError: When it is a name: names are resolved in a thread and
        C{localhost} may mean C{::1}, so trialnet asks for a literal.
    """
    if not isinstance(host, str):
        raise TypeError(f"{what} must be an IP literal string, not {host!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"{what} must be an IP literal such as '127.0.0.1' or '::1', not "
            f"{host!r} (use '0.0.0.0' or '::' to mean every interface)"
        ) from None
    return host


def checkPortNumber(port: object, what: str, allowZero: bool) -> int:
    """
    @return: C{port}, when it is a valid TCP port number.
    @raise TypeError: When it is not an integer.
    @raise ValueError: When it is out of range.
    """
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"{what} must be an int, not {port!r}")
    lowest = 0 if allowZero else 1
    if not lowest <= port <= 65535:
        raise ValueError(f"{what} must be from {lowest} to 65535, not {port!r}")
    return port


def checkPositive(value: object, what: str) -> float:
    """
    @return: C{value} as a float, when it is a positive number of seconds.
    @raise TypeError: When it is not a number.
    @raise ValueError: When it is not positive.
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a number of seconds, not {value!r}")
    if not value > 0:
        raise ValueError(f"{what} must be positive, not {value!r}")
    return float(value)


def checkFactory(factory: object) -> IProtocolFactory:
    """
    @return: C{factory}, when it provides L{IProtocolFactory}.
    @raise TypeError: Otherwise.
    """
    if not IProtocolFactory.providedBy(factory):
        raise TypeError(
            f"expected a protocol factory (an IProtocolFactory provider such "
            f"as twisted.internet.protocol.Factory), not {factory!r}"
        )
    return factory


def splitFactoryOrProtocol(
    factoryOrProtocol: object,
) -> tuple[IProtocolFactory | None, IProtocol | None]:
    """
    @return: C{(factory, None)} or C{(None, protocol)}.
    @raise TypeError: When it is neither.
    """
    if IProtocolFactory.providedBy(factoryOrProtocol):
        return factoryOrProtocol, None
    if IProtocol.providedBy(factoryOrProtocol):
        return None, factoryOrProtocol
    raise TypeError(
        f"expected a protocol factory or a protocol instance (IProtocolFactory "
        f"or IProtocol), not {factoryOrProtocol!r}"
    )


def connectionTarget(target: object) -> tuple[str, int]:
    """
    Find the IP address and port to connect to.

    @param target: A listening port (its current address, so a restarted
        port is found where it listens now), an L{IPv4Address} or
        L{IPv6Address}, or a C{(host, port)} tuple with an IP literal.
    @return: C{(host, port)}; a port listening on every interface is reached
        through loopback.
    @raise TypeError: For any other kind of target.
    @raise ValueError: For a host name or an invalid port number.
    """
    address: Any = target
    if IListeningPort.providedBy(target):
        address = target.getHost()
    if isinstance(address, (IPv4Address, IPv6Address)):
        if address.type != "TCP":
            raise ValueError(f"expected a TCP address, not {address!r}")
        host, port = address.host, address.port
    elif isinstance(address, tuple) and len(address) == 2:
        host, port = address
    else:
        raise TypeError(
            f"connect() takes a port from listen(), an IPv4Address or "
            f"IPv6Address, or a (host, port) tuple with an IP literal, not "
            f"{target!r}"
        )
    checkIPLiteral(host, "the target host")
    checkPortNumber(port, "the target port", allowZero=False)
    return _ANY_TO_LOOPBACK.get(host, host), port
