# -*- test-case-name: tests.sockets.test_transports,tests.sockets.test_unix -*-
"""
What differs between transports (TCP, TLS, UNIX, UDP), as one small object
each: where a UNIX socket lives, how to reach the socket under a wrapping
transport such as TLS, and which kind a port of the reactor is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import weakref
from dataclasses import dataclass
from typing import Any

from twisted.internet.address import UNIXAddress
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from ._targets import MAX_SOCKET_PATH


@dataclass(frozen=True)
class Transport:
    """
    One kind of transport.

    @ivar name: Its name in reports and errors.
    @ivar stream: Whether it carries connections (all but UDP).
    @ivar secure: Whether a client must speak TLS to it.
    @ivar pairsInOrder: Whether its connection ends are paired by the order
        they connected rather than by address (UNIX sockets are unnamed).
    """

    name: str
    stream: bool = True
    secure: bool = False
    pairsInOrder: bool = False


TCP = Transport("tcp")
TLS = Transport("tls", secure=True)
UNIX = Transport("unix", pairsInOrder=True)
UDP = Transport("udp", stream=False)

_SOCKET_NAME = "s"


def privateSocketPath() -> str:
    """
    Make a private directory (mode 0700) for one UNIX socket.

    The system's temporary directory is used when its paths are short
    enough, else C{/tmp}: a deep C{TMPDIR} (macOS, CI runners) would make
    the path too long to bind.

    @return: The path for the socket, inside the new directory.
    """
    root = tempfile.gettempdir()
    # mkdtemp adds the prefix and 8 random characters.
    if len(os.path.join(root, "tn-12345678", _SOCKET_NAME)) > MAX_SOCKET_PATH:
        root = "/tmp"
    directory = tempfile.mkdtemp(prefix="tn-", dir=root)
    return os.path.join(directory, _SOCKET_NAME)


def ensureSocketFile(path: str) -> None:
    """
    Put a placeholder where a UNIX port's socket file was, if the test
    removed it.

    Stopping a UNIX port unlinks its socket file first; when the file is
    gone, the stop fails midway and the port's socket stays open.

    @param path: The port's socket path, in a directory of L{privateSocketPath}.
    """
    if os.path.lexists(path):
        return
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "x"):
        pass


def removeSocketDirectory(path: str) -> None:
    """
    Remove the private directory of a socket path from L{privateSocketPath},
    or whatever the test put in its place.
    """
    directory = os.path.dirname(path)
    if os.path.isdir(directory) and not os.path.islink(directory):
        shutil.rmtree(directory, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(directory)


def applicationProtocol(protocol: Any) -> Any:
    """
    The application's protocol inside wrapping ones (a TLS connection's
    protocol wraps the application's; an endpoint wraps it too, and a
    C{ClientService} hands out the protocol its proxy wraps).
    """
    return protocolChain(protocol)[-1]


def protocolChain(protocol: Any) -> list[Any]:
    """
    C{protocol} and each protocol inside it, outermost first, down to the
    application's: a L{ProtocolWrapper} (TLS, a
    L{ThrottlingFactory<twisted.protocols.policies.ThrottlingFactory>}'s...)
    wraps one, so does an endpoint's wrapping protocol, and so does a
    C{ClientService}'s proxy, whose C{whenConnected()} gives the protocol
    inside.
    """
    chain = [protocol]
    # Shaped for speed (it runs for every end, twice): a protocol whose
    # class is none of the wrappers, as nearly every one is, is answered by
    # one lookup of what is known of its class.
    # Its __class__, as isinstance() asks it too (a mock with a spec).
    cls = protocol.__class__
    entry = _wrapping.get(id(cls))
    if entry is None or entry[0]() is not cls:
        entry = _learnWrapping(cls)
    if not entry[1]:
        return chain
    while True:
        if isinstance(protocol, ProtocolWrapper):
            protocol = protocol.wrappedProtocol
        elif _isEndpointWrapper(protocol, "_WrappingProtocol"):
            protocol = protocol._wrappedProtocol
        elif _isServiceProxy(protocol):
            protocol = protocol._protocol
        else:
            return chain
        chain.append(protocol)


#: The modules of the wrapping protocols other than L{ProtocolWrapper}, and
#: the name of the class in each: looked up only once the module is
#: imported (by the code under test; never by trialnet).
_WRAPPERS_ELSEWHERE = (
    ("twisted.internet.endpoints", "_WrappingProtocol"),
    ("twisted.application._client_service", "_ReconnectingProtocolProxy"),
    ("twisted.application.internet", "_ReconnectingProtocolProxy"),
)


#: Whether the instances of a class wrap another protocol, by the class's
#: id, each with a weak reference to the class (a class defined in a test
#: is not kept alive, and a lookup makes no weak reference).  A class that
#: is none of the wrappers stays so when a wrapper's module is imported
#: later: a subclass of a wrapper imports the wrapper's module first.
_wrapping: dict[int, tuple[weakref.ref[type], bool]] = {}


def _learnWrapping(cls: type) -> tuple[weakref.ref[type], bool]:
    """
    Learn whether instances of C{cls} wrap another protocol, and keep it in
    L{_wrapping} while C{cls} lives.
    """
    key = id(cls)

    def gone(reference: weakref.ref[type]) -> None:
        if _wrapping.get(key, (None,))[0] is reference:
            del _wrapping[key]

    entry = _wrapping[key] = (
        weakref.ref(cls, gone),
        issubclass(cls, _wrappingProtocols()),
    )
    return entry


def _wrappingProtocols() -> tuple[type, ...]:
    """
    Every class of protocol that wraps another, of those imported now.
    """
    found: tuple[type, ...] = (ProtocolWrapper,)
    modules = sys.modules
    for module, name in _WRAPPERS_ELSEWHERE:
        if module in modules:
            wrapper = getattr(modules[module], name, None)
            if isinstance(wrapper, type):
                found += (wrapper,)
    return found


def _isServiceProxy(protocol: object) -> bool:
    # Looked up where the service's module put it (its private module, or
    # application.internet in releases before that module), only once the
    # service is imported.
    for name in ("twisted.application._client_service", "twisted.application.internet"):
        proxy = getattr(sys.modules.get(name), "_ReconnectingProtocolProxy", None)
        if proxy is not None and isinstance(protocol, proxy):
            return True
    return False


def applicationFactory(factory: Any) -> Any:
    """
    The application's factory inside wrapping ones (C{listenSSL} wraps it in
    a L{TLSMemoryBIOFactory<twisted.protocols.tls.TLSMemoryBIOFactory>}; a
    client endpoint wraps it too).
    """
    # _isEndpointWrapper(factory, "_WrappingFactory"), written out with its
    # class looked up once: shaped for speed, one call fewer for every
    # attempt's close and every connect observed.
    endpointWrapper = getattr(
        sys.modules.get("twisted.internet.endpoints"), "_WrappingFactory", None
    )
    while True:
        if isinstance(factory, WrappingFactory):
            factory = factory.wrappedFactory
        elif endpointWrapper is not None and isinstance(factory, endpointWrapper):
            factory = factory._wrappedFactory
        else:
            return factory


def _isEndpointWrapper(thing: object, name: str) -> bool:
    endpoints = sys.modules.get("twisted.internet.endpoints")
    wrapper = getattr(endpoints, name, None)
    return wrapper is not None and isinstance(thing, wrapper)


def transportOf(port: Any) -> Transport:
    """
    Say what kind of port of the reactor C{port} is.
    """
    try:
        address = port.getHost()
    except Exception:
        return TCP
    if isinstance(address, UNIXAddress):
        return UNIX
    if getattr(address, "type", "TCP") == "UDP":
        return UDP
    # Only a reactor that did listenSSL has imported the TLS module.
    tls = sys.modules.get("twisted.protocols.tls")
    factory = getattr(port, "factory", None)
    while tls is not None and isinstance(factory, WrappingFactory):
        if isinstance(factory, tls.TLSMemoryBIOFactory):
            return TLS
        factory = factory.wrappedFactory
    return TCP


def releaseSocket(reactor: Any, selectable: Any) -> None:
    """
    Take a selectable (a transport, possibly under TLS, or a port) out of
    the reactor and close its socket, if it still has one: what the
    teardown does to whatever ignored every orderly way of closing.
    """
    selectable = socketTransport(selectable)
    reactor.removeReader(selectable)
    reactor.removeWriter(selectable)
    getHandle = getattr(selectable, "getHandle", None)
    try:
        # A port has no getHandle, only its socket.
        handle = (
            getattr(selectable, "socket", None) if getHandle is None else getHandle()
        )
    except AttributeError:
        # A connection whose socket was deleted: it closed.
        return
    close = getattr(handle, "close", None)
    if close is not None:
        with contextlib.suppress(OSError):
            close()


def socketTransport(transport: Any) -> Any:
    """
    The reactor's own transport under a wrapping one (TLS wraps TCP), which
    is what the reactor reads, writes and closes.

    Written out in C{End._connected} and C{End.close} too (shaped for
    speed): a change here goes there as well.
    """
    while isinstance(transport, ProtocolWrapper):
        transport = transport.transport
    return transport
