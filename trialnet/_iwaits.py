# -*- test-case-name: tests.test_exports -*-
"""
L{INetworkWaits<trialnet.INetworkWaits>}: the part of the public API that
waits for what happens on a network's connections.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from zope.interface import Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IListeningPort, IProtocol


class INetworkWaits(Interface):
    """
    The part of L{trialnet.INetwork} that waits for what happens on its
    connections: the server end of a client, a connection a port accepted,
    a close, a TLS handshake, a method call.  Each returns a
    L{Deferred<twisted.internet.defer.Deferred>}; with
    L{failFast<trialnet.INetwork.failFast>}, on by default, an error logged
    while one is pending fails it at once.
    """

    def serverProtocolFor(
        client: IProtocol, expected: type[IProtocol] | None = None, unwrap: bool = True
    ) -> Deferred[IProtocol]:
        """
        Find the protocol one of this network's ports built for the other end
        of a client connection.

        That is the application's protocol: when the port's factory wraps
        another (a L{ThrottlingFactory
        <twisted.protocols.policies.ThrottlingFactory>}, a C{TimeoutFactory},
        C{FTPFactory}), every L{ProtocolWrapper
        <twisted.protocols.policies.ProtocolWrapper>} is taken off, and the
        protocol of the factory inside is given.  C{unwrap=False} gives the
        outermost protocol instead: the wrapper (above TLS, whose protocol
        is the connection's transport, not the application's).

        On UNIX sockets, whose addresses do not tell connections apart, ends
        are paired in the order they connected: every client of that port
        must come from this process
        (L{connect<trialnet.INetworkOpening.connect>}, or the code under
        test), not from another process.  Use L{acceptedProtocol} for those.

        @param client: A client protocol of this network, whoever connected
            it (L{connect<trialnet.INetworkOpening.connect>}, or the code
            under test), or a protocol inside one (the protocol
            C{ClientService.whenConnected()} gives, inside the proxy the
            service connected); it may have closed since (ends are matched
            on the addresses recorded when it connected).
        @param expected: The class the server protocol should be an instance
            of; the implementations then return a C{Deferred} of that class.
        @param unwrap: Whether to give the application's protocol inside
            every wrapper (by default), or with C{False} the outermost one.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            server protocol once its C{connectionMade} ran.  If the teardown comes
            first, it fails with C{CancelledError}.  It fails with C{TypeError},
            naming both classes, if the protocol is not an C{expected}.
        @raise TypeError: If C{unwrap} is not a C{bool}.
        @raise ValueError: If C{client} is not a client of this network, or is
            not connected to one of this network's ports.
        """

    def acceptedProtocol(
        port: IListeningPort,
        expected: type[IProtocol] | None = None,
        unwrap: bool = True,
    ) -> Deferred[IProtocol]:
        """
        Wait for a protocol a port built, for clients this network did not
        open (another process, a raw socket, code under test).

        @param port: A stream port of this network.
        @param expected: As for L{serverProtocolFor}.
        @param unwrap: As for L{serverProtocolFor}: the application's
            protocol inside every L{ProtocolWrapper
            <twisted.protocols.policies.ProtocolWrapper>} by default, the
            outermost one with C{False}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with the
            oldest server protocol of that port not yet handed out by this method or
            L{serverProtocolFor}, once its C{connectionMade} ran (at once if there is
            one already).  If the teardown comes first, it fails with
            C{CancelledError}.  It fails with C{TypeError} as for
            L{serverProtocolFor}.
        @raise TypeError: If C{unwrap} is not a C{bool}.
        @raise ValueError: If C{port} is not a stream port of this network.
        """

    def whenClosed(protocol: IProtocol) -> Deferred[None]:
        """
        Wait for one tracked connection end to close.

        @param protocol: A client or server protocol of this network, or one
            adopted with L{track<trialnet.INetworkOpening.track>}, or a
            protocol inside one (as for L{serverProtocolFor}).
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with C{None}
            after the protocol's C{connectionLost} ran, at once if it already has.
        @raise ValueError: If this network does not track C{protocol}.
        """

    def whenHandshakeDone(protocol: IProtocol) -> Deferred[None]:
        """
        Wait for the TLS handshake of one connected end.  C{connect()} fires
        at C{connectionMade}, before the handshake, as the reactor does; a
        certificate that fails verification closes the connection later.
        This wait fails with the TLS error itself instead.

        @param protocol: A client or server protocol of this network,
            connected over TLS.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            with C{None} once the handshake is over (at once if it is), or
            fails with the TLS error (an C{OpenSSL.SSL.Error}, or
            C{service_identity}'s C{VerificationError} for a certificate
            issued to another host name) if the connection is lost first,
            or with L{trialnet.WaitTimeoutError} after the bound of a
            L{trialnet.Recorder}'s waits on this network.  A wait still
            pending when the teardown begins is given up quietly.
        @raise ValueError: If C{protocol} is not a connected TLS end of this
            network.
        """

    def whenCalled(
        target: object, name: str, timeout: float | None = None
    ) -> Deferred[inspect.BoundArguments]:
        """
        Wait for the next call of one method on one object: a protocol's
        C{lineReceived}, a factory's C{clientConnectionLost}.  The method is
        replaced on that instance until the call, then put back; it runs as
        it would have, and the wait fires after it returned, so the object's
        state is what the call made it.  The wait fires inside the call's
        caller (the protocol's C{dataReceived}, say): code that resumes
        from it runs there, as code resumed from a Recorder's wait does.

        @param target: The object, such as a server protocol from
            L{serverProtocolFor}; it needs an instance dictionary.
        @param name: The method's name, such as C{"lineReceived"}.
        @param timeout: Seconds to wait; by default the bound of a
            L{trialnet.Recorder}'s waits on this network.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            with the call's C{inspect.BoundArguments} (C{.args},
            C{.kwargs}, and C{.arguments} by parameter name); it fails with
            what the method raised, with L{trialnet.WaitTimeoutError} after
            the bound, or, with L{failFast<trialnet.INetwork.failFast>}, with
            an error logged meanwhile.
        @raise TypeError: If C{name} is not a string, or C{target} has no
            instance dictionary.
        @raise ValueError: If C{target} has no such method, or a wait on it
            is pending already.
        """
