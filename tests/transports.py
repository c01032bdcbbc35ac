"""
The stream transports the shared behaviour tests run over, and a client in
another process for each.
"""

from __future__ import annotations

import os
import subprocess
import sys

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IListeningPort, IProtocolFactory

from trialnet import NetworkTestCase

from .helpers import ipv6Missing

#: Connects to argv[2] over argv[1] ("tcp", "tls" or "unix"; for TLS,
#: verifying against the authority in argv[3]), says hello, and reads until
#: EOF.
_EXTERNAL_CLIENT = """
import socket, ssl, sys
kind, where = sys.argv[1], sys.argv[2]
if kind == "unix":
    s = socket.socket(socket.AF_UNIX)
    s.connect(where)
else:
    host, port = where.rsplit(":", 1)
    host = host.strip("[]")
    s = socket.create_connection((host, int(port)))
    if kind == "tls":
        context = ssl.create_default_context(cafile=sys.argv[3])
        s = context.wrap_socket(s, server_hostname=host)
s.settimeout(20)
s.sendall(b"hello")
print("connected", flush=True)
while s.recv(1024):
    pass
print("EOF", flush=True)
"""


class StreamTransport:
    """
    One way of listening, for the tests that every stream transport shares.

    @cvar kind: C{"tcp"}, C{"tls"} or C{"unix"}: how an external client
        connects.
    @cvar skip: Why it cannot run here, or L{None}.
    """

    kind = "tcp"
    skip: str | None = None

    def listen(
        self, case: NetworkTestCase, factory: IProtocolFactory
    ) -> IListeningPort:
        """
        Listen on this transport from a sample test.
        """
        return case.listen(factory)

    def externalClient(
        self, case: NetworkTestCase, port: IListeningPort
    ) -> subprocess.Popen[bytes]:
        """
        Start a client in another process that reads until EOF.
        """
        address = port.getHost()
        if isinstance(address, UNIXAddress):
            assert address.name is not None
            arguments = ["unix", os.fsdecode(address.name)]
        else:
            assert isinstance(address, (IPv4Address, IPv6Address))
            arguments = [self.kind, f"[{address.host}]:{address.port}"]
        if self.kind == "tls":
            arguments.append(case.tlsAuthority.caPath)
        return subprocess.Popen(
            [sys.executable, "-c", _EXTERNAL_CLIENT, *arguments],
            stdout=subprocess.PIPE,
        )


class TCP4(StreamTransport):
    """
    TCP over the IPv4 loopback.
    """


class TCP6(StreamTransport):
    """
    TCP over the IPv6 loopback.
    """

    skip = ipv6Missing()

    def listen(
        self, case: NetworkTestCase, factory: IProtocolFactory
    ) -> IListeningPort:
        return case.listen(factory, interface="::1")


class UNIX(StreamTransport):
    """
    UNIX sockets, in a private directory.
    """

    kind = "unix"

    def listen(
        self, case: NetworkTestCase, factory: IProtocolFactory
    ) -> IListeningPort:
        return case.listenUNIX(factory)


class TLS(StreamTransport):
    """
    TLS over TCP, with the run's certificate authority.
    """

    kind = "tls"

    def listen(
        self, case: NetworkTestCase, factory: IProtocolFactory
    ) -> IListeningPort:
        return case.listenTLS(factory)
