"""
L{NetworkTestCase.whenHandshakeDone}: waiting for a TLS handshake, which
fails with the TLS error itself.
"""

from __future__ import annotations

import gc

import trustme
from OpenSSL.SSL import Error as TLSError
from service_identity import VerificationError
from twisted.internet import ssl
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase, Recorder, WaitTimeoutError
from trialnet._waits import _handshake

from ..helpers import assertPassed, sample


def _failureOf(outcomes: list[object]) -> Failure:
    (outcome,) = outcomes
    assert isinstance(outcome, Failure), outcome
    return outcome


class HandshakeTests(SynchronousTestCase):
    def test_done(self) -> None:
        """
        Both ends' waits fire once the handshake is over: the client has the
        server's certificate by then, and trialnet put back what it watched
        on Twisted's TLS protocol.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(Factory.forProtocol(Recorder))
            client = await case.connect(port, Recorder())
            server = await case.serverProtocolFor(client)
            await case.whenHandshakeDone(client)
            await case.whenHandshakeDone(server)
            assert client.transport is not None
            seen.append(client.transport.getPeerCertificate())  # type: ignore[attr-defined]
            seen.append(sorted(vars(client.transport)))
            # Already over: at once.
            seen.append(case.whenHandshakeDone(client).called)

        result = sample(body)

        assertPassed(self, result)
        certificate, attributes, calledAtOnce = seen
        self.assertIsNotNone(certificate)
        assert isinstance(attributes, list)
        self.assertNotIn("dataReceived", attributes)
        self.assertNotIn("connectionLost", attributes)
        self.assertTrue(calledAtOnce)

    def outcomeOfConnecting(self, options: object) -> list[object]:
        """
        Connect to a TLS port with C{options}, and keep what the handshake
        wait gave.
        """
        outcomes: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(Factory.forProtocol(Recorder))
            client = await case.connect(port, Recorder(), tlsOptions=options)
            waiting = case.whenHandshakeDone(client)
            waiting.addBoth(outcomes.append)
            await case.whenClosed(client)

        result = sample(body)
        assertPassed(self, result)
        return outcomes

    def test_wrongHostName(self) -> None:
        """
        A certificate issued to another host name fails the wait with the
        verification error, not with a close that has no reason.
        """
        from trialnet._sockets._tls import processAuthority

        options = processAuthority().clientOptions(hostname="wrong.example")
        failure = _failureOf(self.outcomeOfConnecting(options))
        self.assertIsInstance(failure.value, VerificationError)

    def test_otherAuthority(self) -> None:
        """
        A client that trusts another authority fails the wait with
        OpenSSL's error.
        """
        other = ssl.Certificate.loadPEM(trustme.CA().cert_pem.bytes())
        options = ssl.optionsForClientTLS("127.0.0.1", trustRoot=other)
        failure = _failureOf(self.outcomeOfConnecting(options))
        self.assertIsInstance(failure.value, TLSError)

    def test_withoutPrivateAttributes(self) -> None:
        """
        Where Twisted's TLS protocol has neither its private flag nor its
        kept error, a client's wait still fires when the server's
        certificate arrived, and still fails, with the reason the connection
        was lost, when the handshake failed.
        """
        self.patch(_handshake, "DONE_FLAG", "_notThere")
        self.patch(_handshake, "REASON", "_notThere")
        done: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(Factory.forProtocol(Recorder))
            client = await case.connect(port, Recorder())
            await case.whenHandshakeDone(client)
            done.append(client.transport.getPeerCertificate())  # type: ignore[union-attr]

        assertPassed(self, sample(body))
        self.assertEqual(len(done), 1)
        self.assertIsNotNone(done[0])
        other = ssl.Certificate.loadPEM(trustme.CA().cert_pem.bytes())
        options = ssl.optionsForClientTLS("127.0.0.1", trustRoot=other)
        failure = _failureOf(self.outcomeOfConnecting(options))
        # The reason the connection was lost, not the TLS error it hid.
        self.assertIsNotNone(
            failure.check(ConnectionLost, ConnectionDone, ConnectionAborted),
            failure,
        )

    def test_notTLS(self) -> None:
        """
        A plain TCP end has no handshake to wait for: C{ValueError}.
        """
        errors: list[BaseException] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Recorder))
            client = await case.connect(port, Recorder())
            try:
                case.whenHandshakeDone(client)
            except ValueError as error:
                errors.append(error)

        assertPassed(self, sample(body))
        (error,) = errors
        self.assertIn("TLS", str(error))


class StartTLS(Protocol):
    """
    A server that switches to TLS as soon as it is connected.
    """

    def connectionMade(self) -> None:
        from trialnet._sockets._tls import processAuthority

        assert self.transport is not None
        self.transport.startTLS(processAuthority().serverOptions())  # type: ignore[attr-defined]


class HandshakeEdgeTests(SynchronousTestCase):
    def test_startTLS(self) -> None:
        """
        After C{startTLS} on a plain connection, the wait watches the TLS
        protocol under the socket transport, and fires.
        """
        done: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(StartTLS))
            client = await case.connect(port, Recorder())
            assert client.transport is not None
            options = case.tlsAuthority.clientOptions()
            client.transport.startTLS(options)  # type: ignore[attr-defined]
            await case.whenHandshakeDone(client)
            done.append(client.transport.getPeerCertificate())  # type: ignore[attr-defined]

        assertPassed(self, sample(body))
        self.assertEqual(len(done), 1)
        self.assertIsNotNone(done[0])

    def test_twoWaits(self) -> None:
        """
        Two waits on one end both fire, and Twisted's TLS protocol is left
        as it was.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(Factory.forProtocol(Recorder))
            client = await case.connect(port, Recorder())
            first = case.whenHandshakeDone(client)
            second = case.whenHandshakeDone(client)
            await first
            await second
            seen.append(sorted(vars(client.transport)))

        assertPassed(self, sample(body))
        (attributes,) = seen
        assert isinstance(attributes, list)
        self.assertNotIn("dataReceived", attributes)
        self.assertNotIn("connectionLost", attributes)

    def test_pendingAtTeardown(self) -> None:
        """
        A wait nobody awaited, still pending when the test ends (the server
        never answers the handshake), is given up quietly: the test passes
        and nothing is logged later.
        """

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Recorder))
            client = await case.connect(port, Recorder())
            assert client.transport is not None
            client.transport.startTLS(case.tlsAuthority.clientOptions())  # type: ignore[attr-defined]
            case.whenHandshakeDone(client)

        assertPassed(self, sample(body))
        gc.collect()
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_bound(self) -> None:
        """
        A handshake the server never answers fails the wait with
        L{WaitTimeoutError} at its bound.
        """
        errors: list[BaseException] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Recorder))
            client = await case.connect(port, Recorder())
            assert client.transport is not None
            client.transport.startTLS(case.tlsAuthority.clientOptions())  # type: ignore[attr-defined]
            try:
                await case.whenHandshakeDone(client)
            except WaitTimeoutError as error:
                errors.append(error)

        # A quarter of the test's timeout bounds the wait.
        assertPassed(self, sample(body, timeout=1.0))
        self.assertEqual([type(error) for error in errors], [WaitTimeoutError])
