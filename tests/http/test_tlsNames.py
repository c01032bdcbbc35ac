"""
C{mapName()} and TLS: the run's certificate covers a mapped name on the port
it is mapped to, and only there, for an C{Agent} the code under test makes
and for C{agent()}.
"""

# ruff: noqa: N999

from __future__ import annotations

from typing import Any

from OpenSSL import SSL
from service_identity import VerificationError
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent

from trialnet import NetworkTestCase

from ..helpers import assertPassed, sample
from .test_names import fetch, quietSite


class CertificateTests(SynchronousTestCase):
    """
    The run's certificate covers a mapped name on the port it is mapped to,
    and only there.
    """

    def test_agentOverHTTPS(self) -> None:
        """
        An C{Agent} the code under test makes with the authority's
        C{policyForHTTPS()} verifies C{https://api.example.com/}, and so
        does C{agent()}.
        """
        bodies: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listenTLS(quietSite())
            case.mapName("api.example.com", port)
            policy = case.tlsAuthority.policyForHTTPS()
            agent = Agent(reactor, contextFactory=policy)
            bodies.append(await fetch(agent, b"https://api.example.com/"))
            bodies.append(await fetch(case.agent(), b"https://api.example.com/x"))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(bodies, [b"https api.example.com"] * 2)

    def test_handshake(self) -> None:
        """
        The certificate a TLS client is shown names the mapped name on the
        mapped port, and not on another.
        """
        verified: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            mapped, other = case.listenTLS(quietSite()), case.listenTLS(quietSite())
            case.mapName("api.example.com", mapped)
            options = case.tlsAuthority.clientOptions("api.example.com")
            for port in (other, mapped):
                try:
                    await fetchWith(case, port, options)
                    verified.append(True)
                except (SSL.Error, VerificationError):
                    verified.append(False)

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(verified, [False, True])


async def fetchWith(case: NetworkTestCase, port: Any, options: object) -> None:
    """
    Connect with C{options} and wait for the handshake; fails with the TLS
    error.
    """
    client = await case.connect(port, Protocol(), tlsOptions=options)
    await case.whenHandshakeDone(client)
