# -*- test-case-name: tests.sockets.test_arguments,tests.sockets.test_badInput -*-
"""
Checks of what users pass in, made before anything is opened.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLClientConnectionCreator,
    IOpenSSLServerConnectionCreator,
    IProtocol,
    IProtocolFactory,
)
from zope.interface.interface import InterfaceClass

from ._addresses import LOOPBACK

#: The longest UNIX socket path trialnet binds or connects to, in bytes:
#: every platform accepts it (macOS: 104 bytes with the terminating NUL).
MAX_SOCKET_PATH = 100


@functools.lru_cache(maxsize=256)
def isIPLiteral(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def checkIPLiteral(host: object, what: str, listening: bool = True) -> str:
    """
    @param listening: Whether C{host} is an interface to listen on (rather
        than one to connect to), for the hint of the error.
    @return: C{host}, when it is an IPv4 or IPv6 literal.
    @raise TypeError: When C{host} is not a string.
    @raise ValueError: When it is a name: names are resolved in a thread and
        C{localhost} may mean C{::1}, so trialnet asks for a literal.
    """
    if not isinstance(host, str):
        raise TypeError(f"{what} must be an IP literal string, not {host!r}")
    if not isIPLiteral(host):
        hint = (
            "use '0.0.0.0' or '::' to mean every interface"
            if listening
            else "connect to the port itself, or to its getHost() address"
        )
        raise ValueError(
            f"{what} must be an IP literal such as '127.0.0.1' or '::1', not "
            f"{host!r} ({hint})"
        )
    return host


def checkPortNumber(port: object, what: str, allowZero: bool) -> int:
    """
    @return: C{port}, when it is a valid TCP port number.
    @raise TypeError: When it is not an integer.
    @raise ValueError: When it is out of range.
    """
    # Shaped for speed (three checks a connection): a plain int, as nearly
    # every one is, is told from a bool or another type with one test.
    if type(port) is not int and (not isinstance(port, int) or isinstance(port, bool)):
        raise TypeError(f"{what} must be an int, not {port!r}")
    lowest = 0 if allowZero else 1
    if not lowest <= port <= 65535:
        raise ValueError(f"{what} must be from {lowest} to 65535, not {port!r}")
    return port


def checkFactory(factory: object) -> IProtocolFactory:
    """
    @return: C{factory}, when it provides
        L{IProtocolFactory<twisted.internet.interfaces.IProtocolFactory>}.
    @raise TypeError: Otherwise.
    """
    provider: IProtocolFactory = _provided(
        factory,
        IProtocolFactory,
        "a protocol factory (an IProtocolFactory provider such as "
        "twisted.internet.protocol.Factory)",
    )
    return provider


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


def checkUnconnected(protocol: object) -> None:
    """
    @raise ValueError: When C{protocol} is connected already (a protocol
        instance serves one connection at a time).
    """
    if getattr(protocol, "transport", None) is not None or getattr(
        protocol, "connected", False
    ):
        raise ValueError(
            f"{protocol!r} is connected already; a protocol instance serves one "
            f"connection at a time, so pass a factory to open several"
        )


def listeningAddress(target: object) -> Any:
    """
    @return: A port's current address, or C{target} itself when it is not a
        port.
    @raise ValueError: When C{target} is a port that is not listening.
    """
    if not IListeningPort.providedBy(target):
        return target
    if not getattr(target, "connected", True):
        raise ValueError(f"{target!r} is not listening")
    try:
        return target.getHost()
    except (AttributeError, OSError):
        raise ValueError(f"{target!r} is not listening") from None


def checkSocketPath(path: object) -> str:
    """
    @return: C{path} as a string, when it can name a UNIX socket.
    @raise TypeError: When it is not a string or bytes.
    @raise ValueError: When it is empty or too long to bind or connect to.
    """
    if not isinstance(path, (str, bytes)):
        raise TypeError(f"a UNIX socket path must be str or bytes, not {path!r}")
    size = len(os.fsencode(path))
    if not 0 < size <= MAX_SOCKET_PATH:
        raise ValueError(
            f"a UNIX socket path must be 1 to {MAX_SOCKET_PATH} bytes long, not "
            f"{size} ({path!r})"
        )
    return os.fsdecode(path)


def checkServerTLS(options: object) -> object:
    """
    @return: C{options}, when they can make server TLS connections.
    @raise TypeError: Otherwise.
    """
    if not (
        IOpenSSLServerConnectionCreator.providedBy(options)
        or callable(getattr(options, "getContext", None))
    ):
        raise TypeError(
            f"expected server TLS options (an IOpenSSLServerConnectionCreator "
            f"such as twisted.internet.ssl.CertificateOptions), not {options!r}"
        )
    return options


def checkClientTLS(options: object) -> object:
    """
    @return: C{options}, when they can make client TLS connections.
    @raise TypeError: Otherwise.
    """
    return _provided(
        options,
        IOpenSSLClientConnectionCreator,
        "client TLS options (an IOpenSSLClientConnectionCreator from "
        "twisted.internet.ssl.optionsForClientTLS)",
    )


def _provided(thing: Any, interface: InterfaceClass, expected: str) -> Any:
    """
    @return: C{thing}, when it provides C{interface}.
    @raise TypeError: Otherwise, saying what was C{expected}.
    """
    if not interface.providedBy(thing):
        raise TypeError(f"expected {expected}, not {thing!r}")
    return thing


def connectionTarget(target: object) -> tuple[str, int]:
    """
    Find the IP address and port to connect to.

    @param target: A listening port (its current address, so a restarted
        port is found where it listens now), an
        L{IPv4Address<twisted.internet.address.IPv4Address>} or
        L{IPv6Address<twisted.internet.address.IPv6Address>}, or a C{(host, port)} tuple
        with an IP literal.
    @return: C{(host, port)}; a port listening on every interface is reached
        through loopback.
    @raise TypeError: For any other kind of target.
    @raise ValueError: For a host name or an invalid port number.
    """
    # An address (what a port of the network gives) is no port: no
    # interface lookup for it.
    address = (
        target
        if isinstance(target, (IPv4Address, IPv6Address))
        else listeningAddress(target)
    )
    if isinstance(address, (IPv4Address, IPv6Address)):
        if address.type != "TCP":
            raise ValueError(f"expected a TCP address, not {address!r}")
        host, port = address.host, address.port
    elif isinstance(address, tuple) and len(address) == 2:
        host, port = address
    else:
        raise TypeError(
            f"connect() takes a port from listen(), listenTLS() or "
            f"listenUNIX(), an IPv4Address, IPv6Address or UNIXAddress, a "
            f"(host, port) tuple with an IP literal, or an "
            f"IStreamClientEndpoint, not {target!r}"
        )
    checkIPLiteral(host, "the target host", listening=False)
    checkPortNumber(port, "the target port", allowZero=False)
    # reachableHost(host), written out: one call fewer a connect.
    return LOOPBACK.get(host, host), port


class PortFront:
    """
    What a test connects to in place of one of its ports (a link), or as a
    port served by another process (a server child): a target wherever a
    port is.

    @ivar frontTransport: The kind of port it stands for (TCP, TLS, UNIX).
    @cvar servedElsewhere: Whether another process serves it, so that no
        port of the test stands behind it (L{frontTarget} is C{None}).
    """

    frontTransport: Any
    servedElsewhere: bool = False

    def frontProblem(self) -> Exception | None:
        """
        @return: Why a connection to it cannot succeed now (its server
            ended), or C{None}.
        """
        return None

    def frontAddress(self) -> Any:
        """
        @return: Where clients connect, even while it does not listen (a
            connect is then refused by the reactor).
        """
        raise NotImplementedError

    def frontPort(self) -> IListeningPort | None:
        """
        @return: The port it listens with now, if it listens.
        """
        raise NotImplementedError

    def frontTarget(self) -> IListeningPort | None:
        """
        @return: The port it stands in front of, which serves what comes
            through it (a TLS port's certificate); C{None} once its test
            closed.
        """
        raise NotImplementedError
