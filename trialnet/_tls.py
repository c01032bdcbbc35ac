"""
The certificate authority made at run time for TLS tests.

Keys and certificates come from U{trustme<https://trustme.readthedocs.io/>},
which exists to make exactly these (an authority, a server certificate with
the loopback names, client certificates) for tests, on top of
C{cryptography}.  They are made once per process and live in memory, except
for the authority's certificate, which is written to a private temporary
directory so that external clients can be pointed at it (C{curl --cacert}).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any

#: The names every server certificate is valid for.
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")

_authority: TLSAuthority | None = None


def processAuthority() -> TLSAuthority:
    """
    The authority of this process, made on first use.

    @raise ImportError: When the C{tls} extra is not installed.
    """
    global _authority
    if _authority is None:
        _authority = TLSAuthority()
    return _authority


def _requireTLS() -> Any:
    try:
        import trustme
        from twisted.internet import ssl
    except ImportError as e:
        raise ImportError(
            f"trialnet's TLS needs pyOpenSSL, service_identity and trustme: "
            f"install trialnet[tls] ({e})"
        ) from e
    if not getattr(ssl, "supported", True):
        raise ImportError("trialnet's TLS needs pyOpenSSL: install trialnet[tls]")
    return trustme


class TLSAuthority:
    """
    A certificate authority made for this test run, and what clients and
    servers need to use it.

    L{trialnet.Network.listenTLS} serves a certificate it signed, for
    C{localhost}, C{127.0.0.1} and C{::1}; L{trialnet.Network.connect}
    verifies against it.  Use it directly for external clients, for
    C{startTLS} on a plain connection, or for mutual TLS.

    @ivar caPath: The path of the authority's certificate in PEM, in a
        private directory removed when the process exits (for C{curl
        --cacert}, C{ssl.create_default_context(cafile=...)}).
    @ivar caPEM: The authority's certificate, PEM-encoded.
    """

    def __init__(self) -> None:
        trustme = _requireTLS()
        from twisted.internet import ssl

        self._ca = trustme.CA()
        server = self._ca.issue_cert(*SERVER_NAMES)
        self._serverCertificate = ssl.PrivateCertificate.loadPEM(
            server.private_key_and_cert_chain_pem.bytes()
        )
        self.caPEM: bytes = self._ca.cert_pem.bytes()
        self._caCertificate = ssl.Certificate.loadPEM(self.caPEM)
        self._clientCertificates: dict[str, Any] = {}
        self._clientOptions: dict[tuple[str, str], Any] = {}
        directory = tempfile.mkdtemp(prefix="trialnet-ca-")
        atexit.register(shutil.rmtree, directory, True)
        self.caPath = os.path.join(directory, "ca.pem")
        with open(self.caPath, "wb") as f:
            f.write(self.caPEM)

    def serverOptions(self, requireClientCertificate: bool = False) -> Any:
        """
        Server options with the run's server certificate.

        @param requireClientCertificate: Refuse clients without a certificate
            signed by this authority (mutual TLS).
        @return: A L{CertificateOptions
            <twisted.internet.ssl.CertificateOptions>}, for C{listenSSL},
            C{startTLS} or L{trialnet.Network.listenTLS}.
        """
        if requireClientCertificate:
            return self._serverCertificate.options(self._caCertificate)
        return self._serverCertificate.options()

    def clientOptions(self, hostname: str = "127.0.0.1", identity: str = "") -> Any:
        """
        Client options that verify the server against this authority.

        @param hostname: The name or address the server must be valid for.
        @param identity: When given, present a client certificate for this
            name, signed by this authority (see L{clientCertificate}).
        @return: An L{IOpenSSLClientConnectionCreator
            <twisted.internet.interfaces.IOpenSSLClientConnectionCreator>} from
            L{optionsForClientTLS <twisted.internet.ssl.optionsForClientTLS>},
            made once per hostname and identity.
        """
        options = self._clientOptions.get((hostname, identity))
        if options is None:
            from twisted.internet import ssl

            certificate = self.clientCertificate(identity) if identity else None
            options = ssl.optionsForClientTLS(
                hostname, trustRoot=self._caCertificate, clientCertificate=certificate
            )
            self._clientOptions[hostname, identity] = options
        return options

    def clientCertificate(self, identity: str = "client") -> Any:
        """
        A client certificate signed by this authority, made once per name.

        @param identity: The name the certificate is for.
        @return: A L{PrivateCertificate
            <twisted.internet.ssl.PrivateCertificate>}.
        """
        certificate = self._clientCertificates.get(identity)
        if certificate is None:
            from twisted.internet import ssl

            issued = self._ca.issue_cert(identity, common_name=identity)
            certificate = ssl.PrivateCertificate.loadPEM(
                issued.private_key_and_cert_chain_pem.bytes()
            )
            self._clientCertificates[identity] = certificate
        return certificate
