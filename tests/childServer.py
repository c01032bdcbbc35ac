"""
A server in another process, for tests that need a peer trialnet does not
close: it serves a WSGI application (as treq's tests serve httpbin) over
HTTP, or HTTPS with the key and certificate of a PEM file, on a port of the
IPv4 loopback, prints the port's number on a line of its own, and serves
until its standard input closes (so it never outlives the test that started
it, even one killed).

The application runs in a thread, so the response and its end (for a client
that does not keep the connection, the server's close) reach the client in
separate writes, as from any threaded server.

Run as::

    python childServer.py http
    python childServer.py https KEY_AND_CERTIFICATE.pem
"""

# ruff: noqa: N999

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from twisted.web.server import Site
from twisted.web.wsgi import WSGIResource

#: What every page says.
BODY = b"hello from another process"


def hello(
    environ: dict[str, Any], startResponse: Callable[..., object]
) -> Iterable[bytes]:
    """
    A WSGI application that says L{BODY} at every path.
    """
    startResponse(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]


def serve(scheme: str, pemPath: str = "") -> None:
    """
    Listen, say where, and run until standard input closes.
    """
    from twisted.internet import reactor as installed
    from twisted.internet import ssl

    reactor: Any = installed
    resource = WSGIResource(reactor, reactor.getThreadPool(), hello)
    site = Site(resource)
    site.noisy = False
    if scheme == "https":
        context = ssl.DefaultOpenSSLContextFactory(pemPath, pemPath)
        port = reactor.listenSSL(0, site, context, interface="127.0.0.1")
    elif scheme == "http":
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
    else:
        raise SystemExit(f"unknown scheme {scheme!r}: expected http or https")
    print(port.getHost().port, flush=True)
    # A thread, not the reactor, waits on standard input: it works the same
    # on every reactor.
    threading.Thread(target=_stopAtEndOfInput, args=(reactor,), daemon=True).start()
    reactor.run()


def _stopAtEndOfInput(reactor: Any) -> None:
    sys.stdin.read()
    reactor.callFromThread(reactor.stop)


if __name__ == "__main__":
    serve(*sys.argv[1:])
