"""
C{mapName()} to a link: code that reaches a service by name goes through
the link's conditions, and over TLS is shown the certificate for the name,
which the port behind the link serves.
"""

# ruff: noqa: N999

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectError
from twisted.internet.protocol import DatagramProtocol
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent

from trialnet import NetworkTestCase

from ..helpers import assertPassed, deferLaterTurn, portNumber, sample
from ..http.test_names import fetch, quietSite


class NameThroughLinkTests(SynchronousTestCase):
    """
    A name mapped to a link leads to the link, whose conditions apply.
    """

    def test_agentHeldByTheLink(self) -> None:
        """
        C{agent()} reaches C{http://api.example.com:N/} through the link the
        name is mapped to: a response the link holds does not arrive until
        it is released.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            link = case.link(case.listen(quietSite()))
            case.mapName("api.example.com", link)
            host = b"api.example.com:%d" % link.getHost().port  # type: ignore[attr-defined]
            url = b"http://" + host + b"/"
            agent = case.agent()
            seen.append(await fetch(agent, url) == b"http " + host)
            link.downstream.hold()
            pending = Deferred.fromCoroutine(fetch(agent, url))
            for _ in range(3):
                await deferLaterTurn()
            seen.append(pending.called)
            link.release()
            seen.append(await pending == b"http " + host)

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(seen, [True, False, True])

    def test_agentOfTheCodeUnderTestRefusedWhileDown(self) -> None:
        """
        An C{Agent} the code under test makes itself reaches the name mapped
        to a link, and is refused once the link is down.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            link = case.link(case.listen(quietSite()))
            case.mapName("api.example.com", link)
            agent = Agent(reactor)
            seen.append(await fetch(agent, b"http://api.example.com/"))
            await link.down()
            try:
                await fetch(agent, b"http://api.example.com/")
            except ConnectError as e:
                seen.append(type(e))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(len(seen), 2)
        self.assertEqual(seen[0], b"http api.example.com")
        self.assertTrue(issubclass(seen[1], ConnectError))  # type: ignore[arg-type]


class CertificateThroughLinkTests(SynchronousTestCase):
    """
    The certificate for a name mapped to a link in front of a TLS port is
    served through the link.
    """

    def test_httpsVerifiesTheName(self) -> None:
        """
        An C{Agent} with the authority's C{policyForHTTPS()}, and
        C{agent()}, verify C{https://api.example.com/} through a link with
        latency in front of a C{listenTLS} port.
        """
        bodies: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listenTLS(quietSite())
            link = case.link(port)
            link.latency(0.01)
            case.mapName("api.example.com", link)
            policy = case.tlsAuthority.policyForHTTPS()
            agent = Agent(reactor, contextFactory=policy)
            bodies.append(await fetch(agent, b"https://api.example.com/"))
            bodies.append(await fetch(case.agent(), b"https://api.example.com/x"))
            case.assertNotEqual(link.getHost().port, portNumber(port))  # type: ignore[attr-defined]

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(bodies, [b"https api.example.com"] * 2)


class BadLinkTests(SynchronousTestCase):
    """
    C{mapName()} refuses links it cannot map a name to.
    """

    def test_unixAndDatagramLinks(self) -> None:
        """
        A link in front of a UNIX port is a C{ValueError} naming UNIX; a
        datagram link is no stream target, a C{TypeError}.
        """
        raised: list[tuple[type[Exception], str]] = []

        def body(case: NetworkTestCase) -> None:
            unix = case.link(case.listenUNIX(quietSite()))
            datagrams = case.datagramLink(case.listenUDP(DatagramProtocol()))
            for target in (unix, datagrams):
                try:
                    case.mapName("api.example.com", target)  # type: ignore[arg-type]
                except (TypeError, ValueError) as e:
                    raised.append((type(e), str(e)))

        assertPassed(self, sample(body))
        self.assertEqual([kind for kind, _ in raised], [ValueError, TypeError])
        self.assertIn("is a UNIX link", raised[0][1])
        self.assertIn("or a link in front of one", raised[1][1])
