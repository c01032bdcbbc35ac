# -*- test-case-name: tests.waits.test_handshake -*-
"""
Waiting for a connection's TLS handshake.  C{connect()} fires at
C{connectionMade}, as the reactor does, before the handshake: a certificate
that fails verification would show up later as a close with no reason.  This
wait fails with the TLS error itself.

Twisted's TLS protocol tells its application protocol of a finished
handshake only when that protocol provides C{IHandshakeListener}, and keeps
the TLS error that closed the connection only until it hands it to that
protocol.  So the wait watches Twisted's TLS protocol (the transport, or
after C{startTLS} the protocol of the socket transport; never the
application's protocol), through its C{_handshakeDone} flag and its
C{_reason}, both private; where either is missing, it falls back to what is
public: the peer's certificate, present once a client's handshake is done,
and the reason the connection was lost.
"""

from __future__ import annotations

import weakref
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from .._core._patch import InstancePatch, patchable
from .._core._record import STOP_ACCEPTING, Hook
from .._sockets._clients import cancelQuietly
from ._conversation import WaitTimeoutError

#: Twisted's private flag of a finished handshake, and the TLS error kept
#: until the connection is lost (names, so that a test can take the
#: fallbacks).
DONE_FLAG = "_handshakeDone"
REASON = "_reason"

#: The wait pending on each TLS protocol: a second wait joins it.
_pending: weakref.WeakKeyDictionary[Any, HandshakeWait] = weakref.WeakKeyDictionary()


def tlsProtocolOf(transport: object) -> Any:
    """
    Twisted's TLS protocol under a connected end's transport, or C{None}
    for an end that does not speak TLS.
    """
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    for candidate in (transport, getattr(transport, "protocol", None)):
        if isinstance(candidate, TLSMemoryBIOProtocol):
            return candidate
    return None


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


def whenHandshakeDone(
    tls: Any, seconds: float, reactor: Any
) -> tuple[Deferred[None], HandshakeWait | None]:
    """
    @param tls: Twisted's TLS protocol of a connected end.
    @param seconds: The bound of the wait.
    @return: A L{Deferred} that fires with C{None} once the handshake is
        over (at once if it is), or fails with the TLS error if the
        connection is lost first, or with L{WaitTimeoutError} after the
        bound; and the new record of the wait, or C{None} when there is
        nothing new to record.
    """
    waiter: Deferred[None] = Deferred()
    if handshakeDone(tls):
        waiter.callback(None)
        return waiter, None
    pending = _pending.get(tls)
    if pending is not None:
        pending.waiters.append(waiter)
        return waiter, None
    wait = _pending[tls] = HandshakeWait(tls, waiter, seconds, reactor)
    return waiter, wait


class HandshakeWait(Hook):
    """
    The waits for one TLS protocol's handshake, in the teardown: when it
    begins, they are given up quietly (the test is over) and Twisted's TLS
    protocol is left as it was.
    """

    role = "wait"
    # Given up first, before a connection closes and fails it.
    stage = STOP_ACCEPTING

    def __init__(
        self,
        tls: Any,
        waiter: Deferred[None],
        seconds: float,
        reactor: Any,
    ) -> None:
        self.waiters = [waiter]
        self._tls = tls
        self._originalReceived = tls.dataReceived
        self._originalLost = tls.connectionLost
        self._patch: InstancePatch | None = patchable(tls, "TLS transport")
        self._patch.set("dataReceived", self._dataReceived)
        self._patch.set("connectionLost", self._connectionLost)
        self._timer = reactor.callLater(seconds, self._expire, seconds)

    @property
    def kind(self) -> str:
        return "a TLS handshake"

    def _dataReceived(self, data: bytes) -> None:
        try:
            self._originalReceived(data)
        finally:
            if handshakeDone(self._tls):
                self._end(None)

    def _connectionLost(self, reason: Failure) -> None:
        # Read before Twisted's TLS protocol clears it.
        kept = getattr(self._tls, REASON, None)
        original = self._originalLost
        self._end(kept if isinstance(kept, Failure) else reason)
        original(reason)

    def _expire(self, seconds: float) -> None:
        self._end(Failure(WaitTimeoutError("a TLS handshake", b"", seconds)))

    def _end(self, outcome: Failure | None) -> None:
        self._restore()
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if waiter.called:
                continue
            if outcome is None:
                waiter.callback(None)
            else:
                waiter.errback(outcome)

    def _restore(self) -> None:
        patch, self._patch = self._patch, None
        if patch is None:
            return
        if self._timer.active():
            self._timer.cancel()
        _pending.pop(self._tls, None)
        # Put back only what is still ours: what patched over it since puts
        # back its own.
        instance = vars(self._tls)
        for name, ours in (
            ("dataReceived", self._dataReceived),
            ("connectionLost", self._connectionLost),
        ):
            if instance.get(name) == ours:
                patch.restore(name)

    def closing(self) -> None:
        # The test is over: nobody is to hear of a handshake any more.
        self._restore()
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.called:
                cancelQuietly(waiter)

    forget = closing
