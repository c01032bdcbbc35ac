# -*- test-case-name: tests.sockets.test_tls,tests.sockets.test_tlsWarnings -*-
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
from functools import partial
from typing import TYPE_CHECKING, Any

from zope.interface import alsoProvides

if TYPE_CHECKING:
    from twisted.web.iweb import IPolicyForHTTPS

#: The names every server certificate is valid for.
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")

_authority: TLSAuthority | None = None

#: The names mapped now (see L{trialnet._http._names}), beyond L{SERVER_NAMES}:
#: for each, how many times it is mapped to each port number.
_covered: dict[str, dict[int, int]] = {}


def coverName(name: str, portNumber: int) -> None:
    """
    Make the run's server certificate cover C{name} on connections to the
    ports numbered C{portNumber}, until L{uncoverName}.
    """
    numbers = _covered.setdefault(name, {})
    numbers[portNumber] = numbers.get(portNumber, 0) + 1


def uncoverName(name: str, portNumber: int) -> None:
    """
    Undo one L{coverName}.
    """
    numbers = _covered.get(name, {})
    count = numbers.pop(portNumber, 0) - 1
    if count > 0:
        numbers[portNumber] = count
    if not numbers:
        _covered.pop(name, None)


def _localPort(connection: Any) -> int | None:
    """
    The number of the port a server's TLS connection was accepted on.
    """
    try:
        return int(connection.get_app_data().transport.getHost().port)
    except Exception:
        return None


def _serverConnection(options: Any, tlsProtocol: Any) -> Any:
    """
    A server's TLS connection from C{options}' context, knowing its TLS
    protocol (as Twisted from 25 on makes it).
    """
    from OpenSSL.SSL import Connection

    connection = Connection(options.getContext(), None)
    connection.set_app_data(tlsProtocol)
    return connection


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


def _takesCryptographyObjects(certificate: Any) -> bool:
    """
    Whether the installed pyOpenSSL takes C{cryptography} certificates (and
    keys) for a context's own certificate.

    @param certificate: A C{cryptography} certificate to try it with.
    """
    from OpenSSL import SSL

    try:
        SSL.Context(SSL.TLS_METHOD).use_certificate(certificate)
    except TypeError:
        return False
    return True


def _keyMaterial(issued: Any, modern: bool) -> dict[str, Any]:
    """
    The C{privateKey} and C{certificate} arguments of L{CertificateOptions
    <twisted.internet.ssl.CertificateOptions>} for a certificate that trustme
    issued.

    @param issued: A C{trustme.LeafCert}.
    @param modern: Give C{cryptography} objects, which pyOpenSSL takes
        without a deprecation warning; otherwise pyOpenSSL's own.
    """
    if modern:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return {
            "privateKey": load_pem_private_key(issued.private_key_pem.bytes(), None),
            "certificate": x509.load_pem_x509_certificate(
                issued.cert_chain_pems[0].bytes()
            ),
        }
    from twisted.internet import ssl

    private = ssl.PrivateCertificate.loadPEM(
        issued.private_key_and_cert_chain_pem.bytes()
    )
    return {"privateKey": private.privateKey.original, "certificate": private.original}


class TLSAuthority:
    """
    A certificate authority made for this test run, and what clients and
    servers need to use it.

    L{trialnet.INetworkOpening.listenTLS} serves a certificate it signed, for
    C{localhost}, C{127.0.0.1} and C{::1}, and for the names mapped to that
    port with L{trialnet.INetworkOpening.mapName} (asked for by server name
    indication); L{trialnet.INetworkOpening.connect} verifies against it.
    Use it directly for external clients, for C{startTLS} on a plain
    connection, or for mutual TLS.

    @ivar caPath: The path of the authority's certificate in PEM, in a
        private directory removed when the process exits (for C{curl
        --cacert}, C{ssl.create_default_context(cafile=...)}).
    @ivar caPEM: The authority's certificate, PEM-encoded.
    """

    def __init__(self) -> None:
        trustme = _requireTLS()
        from cryptography import x509
        from twisted.internet import ssl

        self._ca = trustme.CA()
        self.caPEM: bytes = self._ca.cert_pem.bytes()
        self._caCertificate = ssl.Certificate.loadPEM(self.caPEM)
        self._modern = _takesCryptographyObjects(
            x509.load_pem_x509_certificate(self.caPEM)
        )
        self._serverKeys = _keyMaterial(
            self._ca.issue_cert(*SERVER_NAMES), self._modern
        )
        self._issued: dict[str, Any] = {}
        self._nameContexts: dict[tuple[str, bool], Any] = {}
        self._clientKeys: dict[str, dict[str, Any]] = {}
        self._clientCertificates: dict[str, Any] = {}
        self._clientOptions: dict[tuple[str, str], Any] = {}
        directory = tempfile.mkdtemp(prefix="trialnet-ca-")
        atexit.register(shutil.rmtree, directory, True)
        self.caPath = os.path.join(directory, "ca.pem")
        with open(self.caPath, "wb") as f:
            f.write(self.caPEM)

    def serverOptions(self, requireClientCertificate: bool = False) -> Any:
        """
        Server options with the run's server certificate; a client that
        asks, by server name indication, for a name mapped to the port it
        connected to (see L{trialnet.INetworkOpening.mapName}) gets a
        certificate that covers that name too.

        @param requireClientCertificate: Refuse clients without a certificate
            signed by this authority (mutual TLS).
        @return: A L{CertificateOptions
            <twisted.internet.ssl.CertificateOptions>}, for C{listenSSL},
            C{startTLS} or L{trialnet.INetworkOpening.listenTLS}.
        """
        options = self._certificateOptions(self._serverKeys, requireClientCertificate)

        def chooseCertificate(connection: Any) -> None:
            name = (connection.get_servername() or b"").decode("ascii", "replace")
            name = name.lower().removesuffix(".")
            if _localPort(connection) in _covered.get(name, {}):
                connection.set_context(self._contextFor(name, requireClientCertificate))

        options.getContext().set_tlsext_servername_callback(chooseCertificate)
        return options

    def _certificateOptions(self, keys: dict[str, Any], mutual: bool) -> Any:
        from twisted.internet import ssl
        from twisted.internet.interfaces import IOpenSSLServerConnectionCreator

        arguments = dict(keys)
        if mutual:
            arguments["trustRoot"] = ssl.trustRootFromCertificates(
                [self._caCertificate]
            )
        options = ssl.CertificateOptions(**arguments)
        if not IOpenSSLServerConnectionCreator.providedBy(options):
            # Twisted before 25 makes a server's connection from the context
            # alone, with no TLS protocol as its app data: make it here, so
            # that the certificate chosen by name knows the port.
            alsoProvides(options, IOpenSSLServerConnectionCreator)
            options.serverConnectionForTLS = partial(_serverConnection, options)  # type: ignore[method-assign]
        return options

    def _contextFor(self, name: str, mutual: bool) -> Any:
        """
        The server context whose certificate covers C{name} as well as the
        loopback names, made once per name.
        """
        context = self._nameContexts.get((name, mutual))
        if context is None:
            keys = _keyMaterial(self._ca.issue_cert(*SERVER_NAMES, name), self._modern)
            context = self._certificateOptions(keys, mutual).getContext()
            self._nameContexts[name, mutual] = context
        return context

    def policyForHTTPS(self) -> IPolicyForHTTPS:
        """
        A TLS policy for an L{Agent<twisted.web.client.Agent>} the code
        under test makes itself, that trusts this authority alone:
        C{Agent(reactor, contextFactory=authority.policyForHTTPS())} then
        verifies a L{trialnet.INetworkOpening.listenTLS} port for the URL's
        host (C{localhost}, or a name mapped with
        L{trialnet.INetworkOpening.mapName}).

        @return: A L{BrowserLikePolicyForHTTPS
            <twisted.web.client.BrowserLikePolicyForHTTPS>}.
        """
        from twisted.web.client import BrowserLikePolicyForHTTPS

        policy: IPolicyForHTTPS = BrowserLikePolicyForHTTPS(
            trustRoot=self._caCertificate
        )
        return policy

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

            keys = self._clientKeyMaterial(identity) if identity else {}
            options = ssl.optionsForClientTLS(
                hostname,
                trustRoot=self._caCertificate,
                extraCertificateOptions=dict(keys),
            )
            self._clientOptions[hostname, identity] = options
        return options

    def clientCertificate(self, identity: str = "client") -> Any:
        """
        A client certificate signed by this authority, made once per name.

        L{clientOptions} with the same C{identity} presents this certificate
        without the deprecation warnings of recent pyOpenSSL releases, which
        Twisted's C{optionsForClientTLS(clientCertificate=...)} and
        C{PrivateCertificate.options()} still cause.

        @param identity: The name the certificate is for.
        @return: A L{PrivateCertificate
            <twisted.internet.ssl.PrivateCertificate>}.
        """
        certificate = self._clientCertificates.get(identity)
        if certificate is None:
            from twisted.internet import ssl

            certificate = ssl.PrivateCertificate.loadPEM(
                self._issue(identity).private_key_and_cert_chain_pem.bytes()
            )
            self._clientCertificates[identity] = certificate
        return certificate

    def _clientKeyMaterial(self, identity: str) -> dict[str, Any]:
        """
        The key and certificate of L{clientCertificate} for C{identity}, as
        C{CertificateOptions} arguments (see L{_keyMaterial}).
        """
        keys = self._clientKeys.get(identity)
        if keys is None:
            keys = _keyMaterial(self._issue(identity), self._modern)
            self._clientKeys[identity] = keys
        return keys

    def _issue(self, identity: str) -> Any:
        """
        The client certificate for C{identity}, issued once.
        """
        issued = self._issued.get(identity)
        if issued is None:
            issued = self._ca.issue_cert(identity, common_name=identity)
            self._issued[identity] = issued
        return issued
