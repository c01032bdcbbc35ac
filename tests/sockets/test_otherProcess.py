"""
A peer in another process, which trialnet does not close: the ends the
teardown closes finish their orderly close on their own, over TLS too,
whatever the application did to their transport.
"""

# ruff: noqa: N999

from __future__ import annotations

import os

from twisted.internet.task import deferLater
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.iweb import IPolicyForHTTPS

from trialnet import NetworkTestCase

from .. import childServer
from ..childServer import BODY
from ..helpers import assertPassed, closedNetwork, sample, socketsInReactor
from .test_observedFixture import runPytest

#: The sample under pytest.
PYTEST_SAMPLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "pytest_samples",
    "other_process.py",
)


def startServer(test: SynchronousTestCase, scheme: str) -> int:
    """
    Start L{tests.childServer} in another process, serving C{scheme} (HTTPS
    with a certificate of the run's authority for C{127.0.0.1}), killed and
    reaped when C{test} ends.

    @return: The number of the port it listens on, on the IPv4 loopback.
    """
    pem = b""
    if scheme == "https":
        pem = childServer.serverPEM(closedNetwork(test).tlsAuthority)
    child, port = childServer.start(scheme, pem)
    test.addCleanup(childServer.stop, child)
    return port


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


class PytestFixtureTests(SynchronousTestCase):
    """
    The same under pytest, with the C{network} fixture.
    """

    def test_tlsBodyNotRead(self) -> None:
        """
        Under pytest-twisted, with the default and the asyncio reactor, an
        HTTPS client of the C{network} fixture that never reads the body
        closes in an orderly way with a server in another process.
        """
        for reactor in ("default", "asyncio"):
            outcomes, _, output = runPytest(reactor, samples=PYTEST_SAMPLES)
            self.assertEqual(outcomes, {"test_bodyNotRead": ["passed"]}, output)
