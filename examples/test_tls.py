"""
TLS and mutual TLS with the run's certificate authority: C{listenTLS()}
serves a certificate it signed, C{connect()} verifies against it, and
C{tlsAuthority} gives the options for client certificates.
"""

from importlib.util import find_spec

from twisted.internet.interfaces import IHandshakeListener, ISSLTransport
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer

from trialnet import NetworkTestCase, Recorder

_NO_TLS = (
    None
    if find_spec("trustme") and find_spec("OpenSSL")
    else "TLS needs trialnet[tls] (pyOpenSSL, service_identity, trustme)"
)


@implementer(IHandshakeListener)
class WhoAmI(LineReceiver):
    """
    Once the TLS handshake is done, tells the client the name in its
    certificate (or C{anonymous}), then answers each line in capitals.
    """

    def handshakeCompleted(self) -> None:
        from cryptography.x509.oid import NameOID
        from OpenSSL.crypto import X509

        certificate = ISSLTransport(self.transport).getPeerCertificate()
        if not isinstance(certificate, X509):
            self.sendLine(b"anonymous")
            return
        subject = certificate.to_cryptography().subject
        name = subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        self.sendLine(name if isinstance(name, bytes) else name.encode())

    def lineReceived(self, line: bytes) -> None:
        self.sendLine(line.upper())


class TLSTests(NetworkTestCase):
    """
    A server over TLS, and a client that verifies it.
    """

    skip = _NO_TLS

    async def test_verified(self) -> None:
        """
        A client connected to a C{listenTLS()} port verified the server's
        certificate against the run's authority, and talks through TLS.
        """
        port = self.listenTLS(Factory.forProtocol(WhoAmI))
        client = await self.connect(port, Recorder())
        self.assertEqual(await client.readLine(), b"anonymous")
        client.send(b"secret\r\n")
        self.assertEqual(await client.readLine(), b"SECRET")

    async def test_mutual(self) -> None:
        """
        With a server that requires a client certificate of the run's
        authority, a client presenting one for C{alice} is known as
        C{alice}.
        """
        authority = self.tlsAuthority
        port = self.listenTLS(
            Factory.forProtocol(WhoAmI),
            options=authority.serverOptions(requireClientCertificate=True),
        )
        client = await self.connect(
            port, Recorder(), tlsOptions=authority.clientOptions(identity="alice")
        )
        self.assertEqual(await client.readLine(), b"alice")

    async def test_wrongHostName(self) -> None:
        """
        A client that expects another host name fails the handshake:
        C{whenHandshakeDone()} fails with the verification error itself,
        where the client's next read would only see a close.
        """
        from service_identity import VerificationError

        port = self.listenTLS(Factory.forProtocol(WhoAmI))
        options = self.tlsAuthority.clientOptions(hostname="other.example")
        client = await self.connect(port, Recorder(), tlsOptions=options)
        with self.assertRaises(VerificationError):
            await self.whenHandshakeDone(client)
