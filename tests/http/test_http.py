"""
HTTP as Go's C{httptest} does it: L{NetworkTestCase.agent} fetches from this
test's ports over HTTP and verified HTTPS and leaves nothing behind, and
L{NetworkTestCase.url} names a port.
"""

from __future__ import annotations

import inspect
import socket
from typing import Any

from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet import ssl
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.testing import MemoryReactor
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from trialnet import NetworkTestCase

from ..core.test_guarded import Leaves
from ..helpers import Hello, assertPassed, ipv6Missing, sample


class Large(Resource):
    """
    Answers with a body larger than the socket buffers, so that a client
    that does not read it leaves the server still writing.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> int:
        request.write(b"x" * (8 * 1024 * 1024))
        return NOT_DONE_YET


def quietSite(resource: Resource) -> Site:
    """
    A site that does not log every connection it accepts.
    """
    site = Site(resource)
    site.noisy = False
    return site


def fetched(
    urls: list[bytes] | None = None, secure: bool = False, interface: str = "127.0.0.1"
) -> tuple[list[object], Any]:
    """
    Run a sample that serves L{Hello} and fetches each URL (by default the
    port's own) through one C{agent()}.

    @param urls: URLs, in which C{%d} is the port's number.
    @return: The bodies (or the exceptions of the requests) and the number
        of connections the server was asked on, followed by the sample's
        result.
    """
    outcomes: list[object] = []

    async def body(case: NetworkTestCase) -> None:
        hello = Hello()
        listen = case.listenTLS if secure else case.listen
        port = listen(quietSite(hello), interface=interface)
        agent = case.agent()
        number = port.getHost().port  # type: ignore[attr-defined]
        for url in urls or [case.url(port)]:
            try:
                response = await agent.request(
                    b"GET", url.replace(b"%d", b"%d" % number)
                )
                outcomes.append(await readBody(response))
            except Exception as e:
                outcomes.append(e)
        outcomes.append(len(hello.channels))

    return outcomes, sample(body)


def tlsErrors(error: object, kind: type[Exception]) -> list[BaseException]:
    """
    The errors of C{kind} among the reasons a request failed.
    """
    reasons = getattr(error, "reasons", [])
    values = [r.value for r in reasons if isinstance(r, Failure)]
    return [v for v in values if isinstance(v, kind)]


class AgentTests(SynchronousTestCase):
    """
    C{agent()} reaches this test's ports, and its pool and connections join
    the teardown.
    """

    def test_http(self) -> None:
        """
        A GET over HTTP returns the body, and two requests share one pooled
        connection.
        """
        outcomes, result = fetched([b"http://127.0.0.1:%d/"] * 2)

        assertPassed(self, result)
        self.assertEqual(outcomes, [b"hello", b"hello", 1])

    def test_https(self) -> None:
        """
        A GET over HTTPS to a C{listenTLS} port, verified against the run's
        authority, returns the body.
        """
        outcomes, result = fetched(secure=True)

        assertPassed(self, result)
        self.assertEqual(outcomes, [b"hello", 1])

    def test_localhost(self) -> None:
        """
        C{localhost} means the loopback address the port listens on, over
        HTTP and HTTPS (the run's certificate covers the name).
        """
        plain, plainResult = fetched([b"http://localhost:%d/"])
        secure, secureResult = fetched([b"https://localhost:%d/"], secure=True)

        assertPassed(self, plainResult)
        assertPassed(self, secureResult)
        self.assertEqual((plain, secure), ([b"hello", 1], [b"hello", 1]))

    def test_localhostIPv6(self) -> None:
        """
        For a port listening on C{::1}, C{localhost} and C{[::1]} reach it
        over IPv6, with TLS.
        """
        skip = ipv6Missing()
        if skip:
            raise self.skipTest(skip)
        outcomes, result = fetched(
            [b"https://localhost:%d/", b"https://[::1]:%d/"],
            secure=True,
            interface="::1",
        )

        assertPassed(self, result)
        # The pool keys connections by host as written: two hosts, two.
        self.assertEqual(outcomes, [b"hello", b"hello", 2])

    def test_hostNotCovered(self) -> None:
        """
        A request to a C{listenTLS} port by an address its certificate does
        not cover (C{127.0.0.2}) fails with the TLS verification's error.
        """
        outcomes, result = fetched([b"https://127.0.0.2:%d/"], True, "127.0.0.2")

        assertPassed(self, result)
        self.assertEqual(outcomes[1], 0)
        self.assertTrue(tlsErrors(outcomes[0], VerificationError), outcomes[0])

    def test_otherAuthority(self) -> None:
        """
        A server whose certificate the run's authority did not sign is
        refused with a TLS error.
        """
        import trustme

        outcomes: list[object] = []
        other = trustme.CA().issue_cert("127.0.0.1")
        certificate = ssl.PrivateCertificate.loadPEM(
            other.private_key_and_cert_chain_pem.bytes()
        )

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(
                quietSite(Hello()),
                options=ssl.CertificateOptions(
                    privateKey=certificate.privateKey.original,
                    certificate=certificate.original,
                ),
            )
            try:
                await case.agent().request(b"GET", case.url(port))
            except Exception as e:
                outcomes.append(e)

        result = sample(body)

        assertPassed(self, result)
        self.assertTrue(tlsErrors(outcomes[0], SSL.Error), outcomes)

    def test_nameRefused(self) -> None:
        """
        A host name other than C{localhost} fails the request with a
        C{ValueError} naming the URL, before anything is resolved or opened.
        """
        outcomes, result = fetched([b"http://example.com:%d/"])

        assertPassed(self, result)
        self.assertIsInstance(outcomes[0], ValueError)
        self.assertIn("example.com", str(outcomes[0]))
        self.assertEqual(outcomes[1], 0)

    def test_localhostWithoutPort(self) -> None:
        """
        C{localhost} with a port number none of this test's ports has fails
        with a C{ValueError}, rather than being resolved.
        """
        outcomes: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            number = probe.getsockname()[1]
            probe.close()
            try:
                await case.agent().request(b"GET", b"http://localhost:%d/" % number)
            except Exception as e:
                outcomes.append(e)

        result = sample(body)

        assertPassed(self, result)
        self.assertIsInstance(outcomes[0], ValueError)

    def test_poolClosed(self) -> None:
        """
        The agent's persistent pool keeps its connection during the test;
        the teardown closes it and cancels the pool's timer, so the sample
        passes with trial finding the reactor clean.
        """
        pools: list[HTTPConnectionPool] = []
        cached: list[int] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(quietSite(Hello()))
            from twisted.internet import reactor

            pool = HTTPConnectionPool(reactor)
            agent = case.agent(pool=pool)
            pools.append(pool)
            await readBody(await agent.request(b"GET", case.url(port)))
            cached.append(sum(len(c) for c in pool._connections.values()))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(cached, [1])
        self.assertEqual((pools[0]._connections, pools[0]._timeouts), ({}, {}))

    def test_requestLine(self) -> None:
        """
        The agent's connection is recorded with the line of the request that
        made it, as the report of a leftover would name it.
        """
        origins: list[tuple[str, int]] = []
        lines: list[int] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(quietSite(Hello()))
            agent = case.agent()
            lines.append(inspect.currentframe().f_lineno + 1)  # type: ignore[union-attr]
            response = await agent.request(b"GET", case.url(port))
            await readBody(response)
            for record in case._parts().registry.records():
                if getattr(record, "role", "") == "client":
                    origins.append((record.origin.filename, record.origin.lineno))

        result = sample(body)

        assertPassed(self, result)
        self.assertIn((__file__, lines[0]), origins)

    def test_unreadBody(self) -> None:
        """
        A test that leaves a large response body unread still ends with no
        socket, timer or open file left, and passes: nothing had to be
        aborted.
        """
        leaves = Leaves()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(quietSite(Large()))
            response = await case.agent().request(b"GET", case.url(port, b"/big"))
            self.assertEqual(response.code, 200)

        result = sample(body)

        assertPassed(self, result)
        leaves.assertNothingNew(self)

    def test_unreadSmallBody(self) -> None:
        """
        A response whose small body arrived whole but was never read, over
        HTTP and over HTTPS, leaves no pool timer behind: the connection the
        pool takes back after the teardown began is closed with the rest.
        """
        for secure in (False, True):
            leaves = Leaves()

            async def body(case: NetworkTestCase, secure: bool = secure) -> None:
                site = quietSite(Hello())
                port = case.listenTLS(site) if secure else case.listen(site)
                response = await case.agent().request(b"GET", case.url(port))
                self.assertEqual(response.code, 200)

            result = sample(body)

            assertPassed(self, result)
            leaves.assertNothingNew(self)

    def test_pytestNetwork(self) -> None:
        """
        C{Network}, the pytest fixture's object, has C{agent()} and
        C{url()} too.
        """
        from trialnet import Network

        network = Network()
        try:
            self.assertIsInstance(network.agent(), Agent)
        finally:
            closed: list[object] = []
            network.close().addBoth(closed.append)
        self.assertEqual(closed, [None])


class URLTests(SynchronousTestCase):
    """
    C{url()} gives the URL of one of this test's TCP ports, of the type of
    its path, and refuses anything else before anything is opened.
    """

    def urls(self, make: Any) -> tuple[list[object], Any]:
        """
        Run a sample that calls C{make(case)} and keeps what it returns
        or raises.
        """
        outcomes: list[object] = []

        def body(case: NetworkTestCase) -> None:
            try:
                outcomes.append(make(case))
            except Exception as e:
                outcomes.append(e)

        return outcomes, sample(body)

    def test_http(self) -> None:
        """
        A port of C{listen()}: C{http://127.0.0.1:N/}, bytes by default and
        for a bytes path, C{str} for a C{str} path.
        """

        def make(case: NetworkTestCase) -> object:
            port = case.listen(Factory.forProtocol(Protocol))
            number = port.getHost().port  # type: ignore[attr-defined]
            return (
                case.url(port) == b"http://127.0.0.1:%d/" % number,
                case.url(port, b"/a?b=c") == b"http://127.0.0.1:%d/a?b=c" % number,
                case.url(port, "/a") == f"http://127.0.0.1:{number}/a",
            )

        outcomes, result = self.urls(make)

        assertPassed(self, result)
        self.assertEqual(outcomes, [(True, True, True)])

    def test_httpsAndIPv6(self) -> None:
        """
        A C{listenTLS} port gives C{https}; an IPv6 host is bracketed, and a
        port listening on every interface is reached through loopback.
        """
        skip = ipv6Missing()
        if skip:
            raise self.skipTest(skip)

        def make(case: NetworkTestCase) -> object:
            factory = Factory.forProtocol(Protocol)
            ports = [
                case.listenTLS(factory, interface="::1"),
                case.listen(factory, interface="::"),
                case.listen(factory, interface="0.0.0.0"),
            ]
            return [
                case.url(port, "/").replace(str(port.getHost().port), "N")  # type: ignore[attr-defined]
                for port in ports
            ]

        outcomes, result = self.urls(make)

        assertPassed(self, result)
        self.assertEqual(
            outcomes,
            [["https://[::1]:N/", "http://[::1]:N/", "http://127.0.0.1:N/"]],
        )

    def test_badInput(self) -> None:
        """
        Unknown, stopped, UDP and UNIX ports, things that are not ports and
        bad paths are refused with a C{ValueError} or C{TypeError}.
        """

        def make(case: NetworkTestCase) -> object:
            factory = Factory.forProtocol(Protocol)
            port = case.listen(factory)
            stopped = case.listen(factory)
            stopped.stopListening()
            foreign = MemoryReactor().listenTCP(0, factory)
            calls = [
                lambda: case.url(foreign),
                lambda: case.url(case.listenUDP(DatagramProtocol())),
                lambda: case.url(case.listenUNIX(factory)),
                lambda: case.url(stopped),
                lambda: case.url(object()),  # type: ignore[call-overload]
                lambda: case.url(port, 1),  # type: ignore[call-overload]
                lambda: case.url(port, "a"),
                lambda: case.url(port, b"a"),
            ]
            errors = []
            for call in calls:
                try:
                    call()
                except Exception as e:
                    errors.append(type(e))
            return errors

        outcomes, result = self.urls(make)

        assertPassed(self, result)
        self.assertEqual(
            outcomes,
            [[ValueError] * 4 + [TypeError, TypeError, ValueError, ValueError]],
        )
