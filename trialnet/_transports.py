"""
What differs between transports: where a UNIX socket lives, and how to reach
the socket under a wrapping transport such as TLS.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from typing import Any

from twisted.internet.address import UNIXAddress
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

#: The longest socket path every platform accepts (macOS: 104 bytes with the
#: terminating NUL), less a margin.
MAX_SOCKET_PATH = 100

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
    Remove the private directory of a socket path from L{privateSocketPath}.
    """
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def applicationProtocol(protocol: Any) -> Any:
    """
    The application's protocol inside wrapping ones (a TLS connection's
    protocol wraps the application's).
    """
    while isinstance(protocol, ProtocolWrapper):
        protocol = protocol.wrappedProtocol
    return protocol


def applicationFactory(factory: Any) -> Any:
    """
    The application's factory inside wrapping ones (C{listenSSL} wraps it in
    a L{TLSMemoryBIOFactory<twisted.protocols.tls.TLSMemoryBIOFactory>}).
    """
    while isinstance(factory, WrappingFactory):
        factory = factory.wrappedFactory
    return factory


def portFamily(port: Any) -> str:
    """
    Say what kind of port C{port} is: C{"tcp"}, C{"tls"}, C{"unix"} or
    C{"udp"}.
    """
    try:
        address = port.getHost()
    except Exception:
        return "tcp"
    if isinstance(address, UNIXAddress):
        return "unix"
    if getattr(address, "type", "TCP") == "UDP":
        return "udp"
    # Only a reactor that did listenSSL has imported the TLS module.
    tls = sys.modules.get("twisted.protocols.tls")
    factory = getattr(port, "factory", None)
    while tls is not None and isinstance(factory, WrappingFactory):
        if isinstance(factory, tls.TLSMemoryBIOFactory):
            return "tls"
        factory = factory.wrappedFactory
    return "tcp"


def releaseSocket(reactor: Any, selectable: Any) -> None:
    """
    Take a selectable (a transport, possibly under TLS, or a port) out of
    the reactor and close its socket, if it still has one: what the
    teardown does to whatever ignored every orderly way of closing.
    """
    selectable = socketTransport(selectable)
    reactor.removeReader(selectable)
    reactor.removeWriter(selectable)
    try:
        handle = selectable.getHandle()
    except AttributeError:
        # No handle, or a port whose stop failed after deleting its socket.
        return
    close = getattr(handle, "close", None)
    if close is not None:
        with contextlib.suppress(OSError):
            close()


def socketTransport(transport: Any) -> Any:
    """
    The reactor's own transport under a wrapping one (TLS wraps TCP), which
    is what the reactor reads, writes and closes.
    """
    while isinstance(transport, ProtocolWrapper):
        transport = transport.transport
    return transport
