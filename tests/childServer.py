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

or from a test, with L{start} and L{stop}.
"""

# ruff: noqa: N999

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any

#: What every page says.
BODY = b"hello from another process"

#: Seconds a child may take to say its port: a bound, not an expectation.
STARTUP = 30.0


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
    from twisted.web.server import Site
    from twisted.web.wsgi import WSGIResource

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


def serverPEM(authority: Any) -> bytes:
    """
    A key and a certificate for C{127.0.0.1} signed by C{authority} (a
    L{trialnet.TLSAuthority}), in PEM.  (The authority issues them as client
    certificates, which serve a server as well: they are for both uses.)
    """
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    issued = authority.clientCertificate("127.0.0.1")
    key = issued.privateKey.original.to_cryptography_key()
    certificate = issued.original.to_cryptography()
    pem: bytes = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    pem += certificate.public_bytes(Encoding.PEM)
    return pem


def start(scheme: str, pem: bytes = b"") -> tuple[subprocess.Popen[bytes], int]:
    """
    Start this script in another process, serving C{scheme} (for HTTPS,
    with the key and certificate in C{pem}, handed over in a private file
    removed once the child has read it).  Whoever starts it must L{stop} it.

    @return: The child, and the number of the port it listens on, on the
        IPv4 loopback.
    @raise RuntimeError: If it does not say its port (it is stopped then).
    """
    # -I: not this script's directory on the path, where tests/typing would
    # hide the standard library's typing.
    argv = [sys.executable, "-I", os.path.abspath(__file__), scheme]
    directory = tempfile.mkdtemp(prefix="trialnet-child-")
    try:
        if pem:
            path = os.path.join(directory, "server.pem")
            private = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(private, "wb") as f:
                f.write(pem)
            argv.append(path)
        child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], STARTUP)
        line = child.stdout.readline() if ready else b""
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if not line.strip().isdigit():
        stop(child)
        raise RuntimeError(f"the child server did not say its port: {line!r}")
    return child, int(line)


def stop(child: subprocess.Popen[bytes]) -> None:
    """
    Kill a child of L{start}, and reap it.
    """
    child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


if __name__ == "__main__":
    serve(*sys.argv[1:])
