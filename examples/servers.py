"""
The servers that C{examples/test_processes.py} runs in child processes,
as a project's own server module would be run:
C{python -m examples.servers MODE}.
"""

from __future__ import annotations

import sys

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Protocol, ServerFactory


class Echo(Protocol):
    """
    Writes back whatever it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class EchoFactory(ServerFactory):
    """
    Builds echo protocols.
    """

    protocol = Echo


# activated-start
def activated() -> None:
    """
    Serve on the socket systemd socket activation hands over.
    """
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString

    endpoint = serverFromString(reactor, "systemd:domain=INET:index=0")
    endpoint.listen(EchoFactory())
    reactor.run()


# activated-end


# prints-start
def printsPort() -> None:
    """
    Listen on a port of the kernel's choosing, and say which.
    """
    from twisted.internet import reactor

    port = reactor.listenTCP(0, EchoFactory(), interface="127.0.0.1")
    address = port.getHost()
    assert isinstance(address, IPv4Address)
    # flush: a pipe is block-buffered, and the line must arrive now.
    print(f"echo server listening on {address.host}:{address.port}", flush=True)
    reactor.run()


# prints-end


def crash() -> None:
    """
    Fail at start-up, as a server with a bad configuration does.
    """
    print("loading /etc/echo.conf", flush=True)
    raise SystemExit("echo: /etc/echo.conf: no such file")


if __name__ == "__main__":
    {"activated": activated, "printsPort": printsPort, "crash": crash}[sys.argv[1]]()
