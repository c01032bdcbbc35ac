# ruff: noqa: N999 -- the module is named like trialnet's camelCase API.
"""
TLS under a warnings filter that turns deprecations into errors, as many
pytest configurations do: the authority's options make their contexts
without pyOpenSSL's deprecation warnings, and a connection whose TLS set-up
raises does not hang its test.
"""

from __future__ import annotations

import warnings

from OpenSSL.SSL import Connection
from twisted.internet.defer import TimeoutError
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase, TeardownError

from ..helpers import (
    Echo,
    Events,
    LoggingFactory,
    LoggingProtocol,
    assertCleanRun,
    errorTypes,
    recorders,
    sample,
)


def deprecationsAreErrors() -> None:
    """
    Make every C{DeprecationWarning} raised from now on an exception.  Trial
    collects a test's warnings under filters of its own and restores the
    previous filters after the test, so a sample calls this first thing.
    """
    warnings.simplefilter("error", DeprecationWarning)


def pyOpenSSLDeprecations(caught: list[warnings.WarningMessage]) -> list[str]:
    """
    The messages of the deprecation warnings among C{caught} that are about
    pyOpenSSL's objects.
    """
    return [
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, DeprecationWarning)
        and "pyOpenSSL" in str(warning.message)
    ]


class DeprecationsAsErrorsTests(SynchronousTestCase):
    """
    The authority's options, with deprecation warnings made errors.
    """

    def test_mutualTLS(self) -> None:
        """
        A mutual-TLS connection to a port with the authority's server
        options, from a client with the authority's options for an identity,
        carries bytes both ways and the test passes cleanly.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = LoggingFactory(events, "client")
        received: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            deprecationsAreErrors()
            authority = case.tlsAuthority
            port = case.listenTLS(
                serverFactory,
                options=authority.serverOptions(requireClientCertificate=True),
            )
            client = await case.connect(
                port,
                clientFactory,
                tlsOptions=authority.clientOptions(identity="alice"),
            )
            client.transport.write(b"hi")  # type: ignore[attr-defined]
            received.append(await client.waitForData())  # type: ignore[attr-defined]

        with warnings.catch_warnings():
            # Trial emits again, after the test, the warnings it collected.
            deprecationsAreErrors()
            result = sample(body, timeout=10.0)

        assertCleanRun(self, result)
        self.assertEqual(received, [b"hi"])

    def test_defaultsWarnNothing(self) -> None:
        """
        A connection with the default options of C{listenTLS} and
        C{connect} carries bytes and emits no deprecation warning about
        pyOpenSSL's objects.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        received: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(serverFactory)
            client = await case.connect(port, clientFactory)
            client.transport.write(b"ping")  # type: ignore[attr-defined]
            received.append(await client.waitForData())  # type: ignore[attr-defined]

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = sample(body, timeout=10.0)

        assertCleanRun(self, result)
        self.assertEqual(received, [b"ping"])
        self.assertEqual(pyOpenSSLDeprecations(caught), [])


class TLSSetUpError(Exception):
    """
    Raised by L{RaisingClientOptions} instead of making a TLS connection.
    """


@implementer(IOpenSSLClientConnectionCreator)
class RaisingClientOptions:
    """
    Client TLS options that raise when asked for a connection, as options
    do when making their context raises (a deprecation made an error, a
    key that does not match its certificate).
    """

    def clientConnectionForTLS(self, tlsProtocol: object) -> Connection:
        raise TLSSetUpError("no TLS connection for you")


class FailingTLSSetUpTests(SynchronousTestCase):
    """
    A client connection whose TLS set-up raises.
    """

    def test_connectFails(self) -> None:
        """
        C{connect()} with client options that raise when asked for a TLS
        connection fails with their exception well before the test's
        timeout, and the teardown has nothing left to abort.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        clientFactory = LoggingFactory(events, "client", LoggingProtocol)
        raised: list[type[BaseException]] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(serverFactory)
            try:
                await case.connect(
                    port, clientFactory, tlsOptions=RaisingClientOptions()
                )
            except TLSSetUpError as e:
                raised.append(type(e))

        result = sample(body, timeout=2.0)

        self.assertEqual(raised, [TLSSetUpError])
        self.assertNotIn(TimeoutError, errorTypes(result))
        self.assertNotIn(TeardownError, errorTypes(result))
