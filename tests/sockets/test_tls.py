"""
TLS: the run's certificate authority, verification, what the application
still sees through TLS, and a peer that never answers close_notify.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

import trustme
from OpenSSL.SSL import Error as TLSError
from twisted.internet import ssl as twistedSSL  # noqa: N812
from twisted.internet.interfaces import (
    IHandshakeListener,
    IListeningPort,
    IProtocolNegotiationFactory,
)
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import LeftThreadWarning, NetworkTestCase, TeardownError
from trialnet._core._threads import checkThreads

from ..helpers import (
    Echo,
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    assertCleanRun,
    closedNetwork,
    deferLaterTurn,
    errorTypes,
    lostCounts,
    openFiles,
    portNumber,
    recorders,
    sample,
    teardownError,
    warmUp,
)


class Remembers(LoggingProtocol):
    """
    A recorder that keeps why its connection was lost.
    """

    reason: Failure | None = None

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.reason = reason
        super().connectionLost(reason)


class VerificationTests(SynchronousTestCase):
    """
    C{connect} to a L{NetworkTestCase.listenTLS} port verifies the server.
    """

    def test_defaultClientVerifies(self) -> None:
        """
        Bytes cross a TLS connection made with the defaults, and the client
        saw the certificate that the run's authority signed.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        issuers: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(serverFactory)
            client = await case.connect(port, clientFactory)
            client.transport.write(b"ping")  # type: ignore[attr-defined]
            case.assertEqual(await client.waitForData(), b"ping")  # type: ignore[attr-defined]
            peer = twistedSSL.Certificate.peerFromTransport(client.transport)  # type: ignore[attr-defined]
            issuers.append(peer.getIssuer())
            authority = twistedSSL.Certificate.loadPEM(case.tlsAuthority.caPEM)
            issuers.append(authority.getSubject())

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(issuers[0], issuers[1])

    def test_otherAuthorityRefused(self) -> None:
        """
        A client that trusts another authority fails the handshake: its
        connection closes with a TLS error and the server receives nothing.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        clientFactory = LoggingFactory(events, "client", Remembers)
        other = twistedSSL.Certificate.loadPEM(trustme.CA().cert_pem.bytes())
        reasons: list[Failure | None] = []
        servers: list[LoggingProtocol] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(serverFactory)
            options = twistedSSL.optionsForClientTLS("127.0.0.1", trustRoot=other)
            client = await case.connect(port, clientFactory, tlsOptions=options)
            client.transport.write(b"secret")  # type: ignore[attr-defined]
            await case.whenClosed(client)
            reasons.append(client.reason)  # type: ignore[attr-defined]
            servers.append(await case.acceptedProtocol(port))  # type: ignore[arg-type]

        result = sample(body)

        assertCleanRun(self, result)
        (reason,) = reasons
        assert reason is not None
        self.assertIsInstance(reason.value, TLSError)
        self.assertEqual(servers[0].received, b"")
        self.assertEqual(lostCounts(events), (1, 1))

    def test_mutualTLS(self) -> None:
        """
        With server options that require a client certificate, a client
        with a certificate from the authority gets through and one without
        is refused.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Echo)
        clientFactory = LoggingFactory(events, "client", Remembers)
        outcomes: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            authority = case.tlsAuthority
            options = authority.serverOptions(requireClientCertificate=True)
            port = case.listenTLS(serverFactory, options=options)
            withCertificate = authority.clientOptions(identity="alice")
            alice = await case.connect(port, clientFactory, tlsOptions=withCertificate)
            alice.transport.write(b"hi")  # type: ignore[attr-defined]
            outcomes.append(await alice.waitForData())  # type: ignore[attr-defined]
            server = await case.serverProtocolFor(alice)
            peer = twistedSSL.Certificate.peerFromTransport(server.transport)  # type: ignore[attr-defined]
            outcomes.append(peer.getSubject().commonName)
            anonymous = await case.connect(port, clientFactory)
            await case.whenClosed(anonymous)
            outcomes.append(anonymous.reason.type)  # type: ignore[attr-defined]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(outcomes[0], b"hi")
        self.assertIn(b"alice", outcomes[1])
        self.assertTrue(issubclass(outcomes[2], TLSError))  # type: ignore[arg-type]


class StartTLSTests(SynchronousTestCase):
    """
    The authority's options serve C{startTLS} on a plain connection.
    """

    def test_startTLS(self) -> None:
        """
        A plain connection from C{listen} switches to TLS on both ends with
        the authority's server and client options, bytes cross it, and it
        closes clean.
        """
        events = Events()
        secured: list[object] = []

        class StartsTLS(Echo):
            def dataReceived(self, data: bytes) -> None:
                if data == b"STARTTLS":
                    authority = self.factory.authority
                    self.transport.write(b"GO")  # type: ignore[union-attr]
                    self.transport.startTLS(authority.serverOptions())  # type: ignore[union-attr]
                else:
                    super().dataReceived(data)

        serverFactory = LoggingFactory(events, "server", StartsTLS)
        clientFactory = LoggingFactory(events, "client")

        async def body(case: NetworkTestCase) -> None:
            serverFactory.authority = case.tlsAuthority  # type: ignore[attr-defined]
            port = case.listen(serverFactory)
            client = await case.connect(port, clientFactory)
            client.transport.write(b"STARTTLS")  # type: ignore[attr-defined]
            case.assertEqual(await client.waitForData(), b"GO")  # type: ignore[attr-defined]
            client.transport.startTLS(case.tlsAuthority.clientOptions())  # type: ignore[attr-defined]
            client.transport.write(b"secret")  # type: ignore[attr-defined]
            secured.append(await client.waitForData())  # type: ignore[attr-defined]
            peer = twistedSSL.Certificate.peerFromTransport(client.transport)  # type: ignore[attr-defined]
            authority = twistedSSL.Certificate.loadPEM(case.tlsAuthority.caPEM)
            secured.append(peer.getIssuer() == authority.getSubject())

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(secured[0], b"GOsecret")
        self.assertIs(secured[1], True)
        self.assertEqual(lostCounts(events), (1, 1))


@implementer(IHandshakeListener)
class HearsHandshake(LoggingProtocol):
    """
    A recorder that logs C{handshakeCompleted}.
    """

    def handshakeCompleted(self) -> None:
        self.events.log.append(f"{self.role} handshake")


@implementer(IProtocolNegotiationFactory)
class NegotiatingFactory(LoggingFactory):
    """
    A server factory that offers ALPN protocols.
    """

    def acceptableProtocols(self) -> list[bytes]:
        return [b"h2", b"http/1.1"]


class TransparencyOverTLSTests(SynchronousTestCase):
    """
    Through trialnet, TLS reaches the application as it would without it.
    """

    def test_handshakeCompleted(self) -> None:
        """
        Protocols providing L{IHandshakeListener} hear C{handshakeCompleted}
        on both ends.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", HearsHandshake)
        clientFactory = LoggingFactory(events, "client", HearsHandshake)

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(serverFactory)
            client = await case.connect(port, clientFactory)
            server = await case.serverProtocolFor(client)
            client.transport.write(b"x")  # type: ignore[attr-defined]
            await server.waitForData()  # type: ignore[attr-defined]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(events.count("server handshake"), 1)
        self.assertEqual(events.count("client handshake"), 1)

    def test_alpn(self) -> None:
        """
        A factory providing L{IProtocolNegotiationFactory} negotiates ALPN
        with a client that offers protocols: both ends agree on the one they
        share.
        """
        events = Events()
        serverFactory = NegotiatingFactory(events, "server", Echo)
        clientFactory = LoggingFactory(events, "client")
        negotiated: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(serverFactory)
            trustRoot = twistedSSL.Certificate.loadPEM(case.tlsAuthority.caPEM)
            options = twistedSSL.optionsForClientTLS(
                "127.0.0.1",
                trustRoot=trustRoot,
                acceptableProtocols=[b"http/1.1", b"spdy/3"],
            )
            client = await case.connect(port, clientFactory, tlsOptions=options)
            client.transport.write(b"x")  # type: ignore[attr-defined]
            await client.waitForData()  # type: ignore[attr-defined]
            server = await case.serverProtocolFor(client)
            for end in (client, server):
                negotiated.append(end.transport.negotiatedProtocol)  # type: ignore[union-attr]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(negotiated, [b"http/1.1", b"http/1.1"])


@implementer(IHandshakeListener)
class HearsProtocol(LoggingProtocol):
    """
    A recorder that logs the ALPN protocol when the handshake completes.
    """

    def handshakeCompleted(self) -> None:
        negotiated = self.transport.negotiatedProtocol  # type: ignore[union-attr]
        self.events.log.append(f"{self.role} negotiated {negotiated!r}")


class ClientALPNTests(SynchronousTestCase):
    """
    A client factory's own ALPN protocols reach the TLS layer through
    C{connect}.
    """

    def test_clientFactoryNegotiates(self) -> None:
        """
        A client factory providing L{IProtocolNegotiationFactory} negotiates
        through C{connect} exactly as through the reactor's C{connectSSL},
        each with client options of its own (Twisted 24.7 applies a
        factory's protocols only to a context's later connections, so there
        neither negotiates), and on Twisted 26 both agree on the protocol
        they share.
        """

        def negotiated(throughTrialnet: bool) -> list[str]:
            events = Events()
            serverFactory = NegotiatingFactory(events, "server")
            clientFactory = NegotiatingFactory(events, "client", HearsProtocol)

            async def body(case: NetworkTestCase) -> None:

                port = case.listenTLS(serverFactory)
                trustRoot = twistedSSL.Certificate.loadPEM(case.tlsAuthority.caPEM)
                options = twistedSSL.optionsForClientTLS(
                    "127.0.0.1", trustRoot=trustRoot
                )
                if throughTrialnet:
                    await case.connect(port, clientFactory, tlsOptions=options)
                await pastHandshake(
                    case, port, clientFactory, options, adopt=not throughTrialnet
                )

            assertCleanRun(self, sample(body))
            return [e for e in events.log if "negotiated" in e]

        reference = negotiated(throughTrialnet=False)
        self.assertEqual(negotiated(throughTrialnet=True), reference)
        if _twistedVersion() >= (26, 0):
            self.assertEqual(reference, ["client negotiated b'h2'"])


def _twistedVersion() -> tuple[int, int]:
    import twisted

    major, minor = twisted.__version__.split(".")[:2]
    return int(major), int(minor)


class CloseNotifyTests(SynchronousTestCase):
    """
    A TLS peer that never answers close_notify cannot hang the teardown
    (Twisted #7926).
    """

    def test_peerNeverAnswers(self) -> None:
        """
        The server end's orderly TLS close waits for a close_notify that an
        external peer never sends; after C{disconnectTimeout} it is aborted,
        reported with that cause, and its socket released.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        release = threading.Event()
        threads: list[threading.Thread] = []

        def silentPeer(port: int, caPath: str) -> None:
            context = ssl.create_default_context(cafile=caPath)
            raw = socket.create_connection(("127.0.0.1", port))
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as peer:
                peer.sendall(b"hello")
                release.wait(30)

        async def body(case: NetworkTestCase) -> None:

            port = case.listenTLS(serverFactory)
            thread = threading.Thread(
                target=silentPeer,
                args=(portNumber(port), case.tlsAuthority.caPath),
            )
            thread.start()
            threads.append(thread)
            server = await case.acceptedProtocol(port)
            await server.waitForData()  # type: ignore[attr-defined]

        warmUp()
        before = openFiles()
        started = time.monotonic()
        try:
            result = sample(body, disconnectTimeout=0.5)
        finally:
            release.set()
            for thread in threads:
                thread.join(30)
        elapsed = time.monotonic() - started

        self.assertEqual(errorTypes(result), [TeardownError])
        (leftover,) = teardownError(result).leftovers
        self.assertEqual(leftover.role, "server")
        self.assertIn("close_notify", leftover.cause)
        self.assertLess(elapsed, 0.5 + 3.0)
        self.assertEqual(events.count("server lost"), 1)
        self.assertEqual(openFiles() - before, set())
        # The peer's thread, still waiting when the sample ended, is named.
        (warned,) = self.flushWarnings([checkThreads])
        self.assertIs(warned["category"], LeftThreadWarning)
        self.assertIn("in silentPeer", warned["message"])


class AuthorityTests(SynchronousTestCase):
    """
    The authority is made once per process, and only in memory but for its
    certificate.
    """

    def test_oncePerProcess(self) -> None:
        """
        Every test case and network sees the same authority, whose PEM file
        holds its certificate.
        """

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                pass

        first = Sample("test_it").tlsAuthority
        second = closedNetwork(self).tlsAuthority
        self.assertIs(first, second)
        with open(first.caPath, "rb") as f:
            self.assertEqual(f.read(), first.caPEM)
        self.assertIn(b"BEGIN CERTIFICATE", first.caPEM)

    def test_clientCertificateCached(self) -> None:
        """
        A client certificate is made once per identity.
        """
        authority = closedNetwork(self).tlsAuthority
        self.assertIs(
            authority.clientCertificate("bob"), authority.clientCertificate("bob")
        )
        self.assertIsNot(
            authority.clientCertificate("bob"), authority.clientCertificate("carol")
        )


async def pastHandshake(
    case: NetworkTestCase,
    port: IListeningPort,
    clientFactory: LoggingFactory,
    options: object,
    adopt: bool = False,
) -> None:
    """
    Get a client of C{clientFactory} past its TLS handshake with C{port}:
    first, with C{adopt}, connect it with the reactor's own C{connectSSL}
    and adopt the connector; then send a byte and wait for the server to
    receive it.
    """
    from twisted.internet import reactor

    if adopt:
        case.track(
            reactor.connectSSL(  # type: ignore[attr-defined]
                "127.0.0.1", portNumber(port), clientFactory, options
            )
        )
    server = await case.acceptedProtocol(port)
    while not clientFactory.built:
        await deferLaterTurn()
    clientFactory.built[0].transport.write(b"x")  # type: ignore[union-attr]
    await server.waitForData()  # type: ignore[attr-defined]


class AdoptedTLSTests(SynchronousTestCase):
    """
    TLS ports and connectors the code under test opened itself, adopted with
    C{track}, are closed through TLS.
    """

    def test_adoptedPort(self) -> None:
        """
        For a port from the reactor's C{listenSSL}, C{serverProtocolFor}
        finds the application's protocol (not the TLS layer around it), and
        C{connect} to the port speaks TLS.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        found: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            options = case.tlsAuthority.serverOptions()
            port = case.track(
                reactor.listenSSL(  # type: ignore[attr-defined]
                    0, serverFactory, options, interface="127.0.0.1"
                )
            )
            client = await case.connect(port, clientFactory)
            client.transport.write(b"ping")  # type: ignore[attr-defined]
            found.append(await client.waitForData())  # type: ignore[attr-defined]
            found.append(await case.serverProtocolFor(client))

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(found, [b"ping", serverFactory.built[0]])

    def test_adoptedConnectorThroughTLS(self) -> None:
        """
        A client from the reactor's C{connectSSL}, adopted through its
        connector, is closed through TLS: with stuck producers on both
        ends, both TLS closes wait until they are aborted and reported by
        the application's class (closing the client's TCP connection under
        TLS would have ended both quietly).
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Stuck)
        clientFactory = LoggingFactory(events, "client", Stuck)

        async def body(case: NetworkTestCase) -> None:

            port = case.listenTLS(serverFactory)
            options = case.tlsAuthority.clientOptions()
            await pastHandshake(case, port, clientFactory, options, adopt=True)

        result = sample(body, disconnectTimeout=0.3)

        leftovers = teardownError(result).leftovers
        self.assertEqual(
            sorted(leftover.role for leftover in leftovers), ["client", "server"]
        )
        for leftover in leftovers:
            self.assertIn("Stuck", leftover.kind)
            self.assertIn("NeverFinishes", leftover.cause)
