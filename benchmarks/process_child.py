"""
The child of the process benchmark: a Twisted echo server, on the socket
of socket activation (C{activated}) or on a port it binds and prints
(C{printsPort}).
"""

from __future__ import annotations

import sys

from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Protocol, ServerFactory


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class EchoFactory(ServerFactory):
    protocol = Echo
    noisy = False


if __name__ == "__main__":
    if sys.argv[1] == "activated":
        serverFromString(reactor, "systemd:domain=INET:index=0").listen(EchoFactory())
    else:
        port = reactor.listenTCP(0, EchoFactory(), interface="127.0.0.1")
        print(f"listening on {port.getHost().port}", flush=True)  # type: ignore[attr-defined]
    reactor.run()
