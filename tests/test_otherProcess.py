"""
A peer in another process, which trialnet does not close: the ends the
teardown closes finish their orderly close on their own, over TLS too,
whatever the application did to their transport.
"""

# ruff: noqa: N999

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
from typing import IO

from twisted.internet.task import deferLater
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.iweb import IPolicyForHTTPS

from trialnet import NetworkTestCase, TLSAuthority

from .childServer import BODY
from .helpers import assertPassed, closedNetwork, sample, socketsInReactor

#: The script the child runs.
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "childServer.py")

#: Seconds a child may take to say its port: a bound, not an expectation.
STARTUP = 30.0


def startServer(test: SynchronousTestCase, scheme: str) -> int:
    """
    Start L{tests.childServer} in another process, serving C{scheme} (HTTPS
    with a certificate of the run's authority for C{127.0.0.1}), killed and
    reaped when C{test} ends.

    @return: The number of the port it listens on, on the IPv4 loopback.
    """
    # -I: not the script's directory on the path, where tests/typing would
    # hide the standard library's typing.
    argv = [sys.executable, "-I", CHILD, scheme]
    if scheme == "https":
        directory = tempfile.mkdtemp(prefix="trialnet-child-")
        test.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "server.pem")
        private = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(private, "wb") as f:
            f.write(serverPEM(closedNetwork(test).tlsAuthority))
        argv.append(path)
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    test.addCleanup(_stop, child)
    assert child.stdout is not None
    return _readPort(test, child.stdout)


def serverPEM(authority: TLSAuthority) -> bytes:
    """
    A key and a certificate for C{127.0.0.1} signed by C{authority}, in PEM,
    for a server the test does not run itself.  (The authority issues them
    as client certificates, which serve a server as well: they are for
    both uses.)
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


def _readPort(test: SynchronousTestCase, output: IO[bytes]) -> int:
    ready, _, _ = select.select([output], [], [], STARTUP)
    line = output.readline() if ready else b""
    if not line.strip().isdigit():
        test.fail(f"the child server did not say its port: {line!r}")
    return int(line)


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


def oneShotAgent(policy: IPolicyForHTTPS) -> Agent:
    """
    An L{Agent} as treq's integration tests make one: with a pool that keeps
    no connection, so each closes after its response.
    """
    from twisted.internet import reactor

    return Agent(
        reactor,
        contextFactory=policy,
        pool=HTTPConnectionPool(reactor, persistent=False),
    )


class PeerInAnotherProcessTests(SynchronousTestCase):
    """
    A connection to a server in another process closes in an orderly way at
    the teardown, with nothing aborted, though trialnet closes only its own
    end of it.
    """

    def fetch(self, scheme: str, readLater: bool) -> tuple[list[object], TestResult]:
        """
        Run a sample whose client asks the child server for a page over
        C{scheme}, through an L{oneShotAgent}, and ends without reading the
        body, or reads it one turn later (after the response ended).

        @return: What the sample saw, and its result.
        """
        port = startServer(self, scheme)
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            agent = oneShotAgent(case.tlsAuthority.policyForHTTPS())
            url = f"{scheme}://127.0.0.1:{port}/get".encode()
            response = await agent.request(b"GET", url)
            seen.append(response.code)
            if readLater:
                from twisted.internet import reactor

                await deferLater(reactor, 0, lambda: None)
                seen.append(await readBody(response))

        return seen, sample(body)

    def test_tlsBodyNotRead(self) -> None:
        """
        An HTTPS client that never reads the body (as treq's
        C{HTTPSTreqIntegrationTests.test_get}), whose transport the HTTP
        client therefore keeps paused, still closes in an orderly way: its
        TLS close reads the server's close_notify.
        """
        seen, result = self.fetch("https", readLater=False)
        self.assertEqual(seen, [200])
        assertPassed(self, result)
        self.assertEqual(socketsInReactor(), set())

    def test_tlsBodyReadLater(self) -> None:
        """
        An HTTPS client that reads the body after the response ended, which
        the HTTP client closed while its transport was paused, closes in an
        orderly way.
        """
        seen, result = self.fetch("https", readLater=True)
        self.assertEqual(seen, [200, BODY])
        assertPassed(self, result)
        self.assertEqual(socketsInReactor(), set())

    def test_tcpBodyNotRead(self) -> None:
        """
        Over plain TCP a paused client closes in an orderly way too: its
        close only writes, and needs no read.
        """
        seen, result = self.fetch("http", readLater=False)
        self.assertEqual(seen, [200])
        assertPassed(self, result)
        self.assertEqual(socketsInReactor(), set())
