"""
Waiting for a connection's TLS handshake.  C{connect()} fires at
C{connectionMade}, as the reactor does, before the handshake: a certificate
that fails verification would show up later as a close with no reason.  This
wait fails with the TLS error itself.

Twisted's TLS protocol tells its application protocol of a finished
handshake only when that protocol provides C{IHandshakeListener}, and keeps
the TLS error that closed the connection only until it hands it to that
protocol.  So the wait watches Twisted's TLS protocol (the transport, never
the application's protocol), through its C{_handshakeDone} flag and its
C{_reason}, both private; where either is missing, it falls back to what is
public: the peer's certificate, present once a client's handshake is done,
and the reason the connection was lost.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import ISSLTransport
from twisted.python.failure import Failure

from ._patch import patchable

#: Twisted's private flag of a finished handshake, and the TLS error kept
#: until the connection is lost (names, so that a test can take the
#: fallbacks).
DONE_FLAG = "_handshakeDone"
REASON = "_reason"


def isTLS(transport: object) -> bool:
    """
    Whether a connection end's transport speaks TLS.
    """
    return ISSLTransport.providedBy(transport)


def handshakeDone(tls: Any) -> bool:
    """
    Whether the handshake of C{tls}, Twisted's TLS protocol, is over.
    """
    done = getattr(tls, DONE_FLAG, None)
    if isinstance(done, bool):
        # Twisted before 25 sets its flag even when the host name check,
        # which runs at the end of the handshake, failed and aborted the
        # connection: it keeps that error, to hand on when the connection
        # is lost.
        return done and getattr(tls, REASON, None) is None
    return tls.getPeerCertificate() is not None


def whenHandshakeDone(tls: Any) -> Deferred[None]:
    """
    @param tls: The transport of a connected end: Twisted's TLS protocol.
    @return: A L{Deferred} that fires with C{None} once the handshake is
        over, or fails with the TLS error (an C{OpenSSL.SSL.Error}, or
        C{service_identity}'s C{VerificationError} for a wrong host name)
        if the connection is lost first.
    """
    if handshakeDone(tls):
        return succeed(None)
    waiter: Deferred[None] = Deferred()
    patch = patchable(tls, "TLS transport")
    originalReceived = tls.dataReceived
    originalLost = tls.connectionLost

    def dataReceived(data: bytes) -> None:
        try:
            originalReceived(data)
        finally:
            if handshakeDone(tls) and not waiter.called:
                patch.restoreAll()
                waiter.callback(None)

    def connectionLost(reason: Failure) -> None:
        # Read before Twisted's TLS protocol clears it.
        kept = getattr(tls, REASON, None)
        patch.restoreAll()
        try:
            originalLost(reason)
        finally:
            if not waiter.called:
                waiter.errback(kept if isinstance(kept, Failure) else reason)

    patch.set("dataReceived", dataReceived)
    patch.set("connectionLost", connectionLost)
    return waiter
