"""
One client connection attempt, seen through a factory of trialnet's own that
hands every call on to the application's factory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectError
from twisted.internet.interfaces import (
    IAddress,
    IConnector,
    IProtocol,
    IProtocolFactory,
    IProtocolNegotiationFactory,
)
from twisted.internet.protocol import ClientFactory
from twisted.python.failure import Failure
from twisted.python.reflect import qual
from zope.interface import alsoProvides

from ._tracking import Connection


def cancelQuietly(deferred: Deferred[Any]) -> None:
    """
    Cancel a L{Deferred<twisted.internet.defer.Deferred>} the teardown owns.  Its
    cancellation is expected, so it is not reported as an unhandled error when nobody
    was waiting for it.
    """
    deferred.addErrback(_ignoreCancellation)
    deferred.cancel()


def _ignore(result: object) -> None:
    pass


def _nothing() -> None:
    pass


def _ignoreCancellation(failure: Failure) -> None:
    failure.trap(CancelledError)


class ClientAttempt(ClientFactory):
    """
    The factory given to the reactor for one C{connect()}.

    The application's factory still gets C{doStart}, C{doStop},
    C{startedConnecting}, C{clientConnectionFailed} and
    C{clientConnectionLost} (when it has them) with the real connector, in
    the reactor's order; its own C{buildProtocol} builds the protocol.

    @ivar deferred: Fires with the protocol after its C{connectionMade} ran,
        or fails with the reason the attempt failed.
    @ivar connector: The reactor's connector, unless an endpoint connects.
    @ivar connection: The connection, once a protocol was built.
    @ivar origin: The line that asked for the connection.
    @ivar running: The set to be in while a connector (or an endpoint) has
        started this factory and not stopped it yet.
    @ivar onStopped: Called after the factory stopped.
    @ivar pairing: For a UNIX connection, makes the key that pairs each
        connection of this attempt with its server end.
    """

    def __init__(
        self,
        factory: IProtocolFactory | None,
        connection: Connection | None,
        watch: Callable[[IProtocol], Connection],
        onDone: Callable[[ClientAttempt], None],
    ) -> None:
        self._factory = factory
        self._watch = watch
        self._onDone = onDone
        self._failure: Failure | None = None
        self._cancelled = False
        self._halted = False
        self._protocol = None if connection is None else connection.protocol
        self._prepared = connection
        self.connection: Connection | None = None
        self.connector: IConnector | None = None
        self.pairing: Callable[[], Any] | None = None
        self.origin: Any = None
        self.running: set[ClientAttempt] = set()
        self.onStopped: Callable[[], None] = _nothing
        if IProtocolNegotiationFactory.providedBy(factory):
            # The TLS layer asks the factory it is given for ALPN protocols.
            alsoProvides(self, IProtocolNegotiationFactory)
        self._endpointResult: Deferred[Any] | None = None
        self.deferred: Deferred[IProtocol] = Deferred(self._cancel)

    # The application's protocol provides IProtocol; it need not be one of
    # Factory's Protocol subclasses.
    def buildProtocol(self, addr: IAddress) -> IProtocol | None:  # type: ignore[override]
        # Counted even when no protocol comes of it: the kernel connected.
        pairKey = None if self.pairing is None else self.pairing()
        connection, self._prepared = self._prepared, None
        if connection is None:
            # The first connection of a factory, or a connector that
            # connect()ed again: each connection gets a protocol of its own.
            connection = self._watchNew(addr)
            if connection is None:
                return None
        connection.attempt = self
        connection.pairKey = pairKey
        self.connection = connection
        return connection.protocol

    def _watchNew(self, addr: IAddress) -> Connection | None:
        if self._factory is None:
            protocol = self._protocol
        else:
            protocol = self._factory.buildProtocol(addr)
        if protocol is None:
            self._failure = Failure(
                ConnectError(string="the client factory's buildProtocol returned None")
            )
            return None
        try:
            connection = self._watch(protocol)
        except (TypeError, ValueError):
            self._failure = Failure()
            return None
        connection.watchConnect()
        return connection

    @property
    def kind(self) -> str:
        """
        The application factory's qualified class name, for the report.
        """
        return qual(
            type(self._factory if self._factory is not None else self._protocol)
        )

    def acceptableProtocols(self) -> list[bytes]:
        """
        The application factory's ALPN protocols, when it negotiates them.
        """
        return self._factory.acceptableProtocols()  # type: ignore[union-attr, no-any-return]

    def doStart(self) -> None:
        self.running.add(self)
        if self._factory is not None:
            self._factory.doStart()

    def doStop(self) -> None:
        # A connector stops its factory last, after clientConnectionLost or
        # clientConnectionFailed: only then is the attempt over for the
        # application.
        try:
            if self._factory is not None:
                self._factory.doStop()
        finally:
            self.running.discard(self)
            self.onStopped()

    def protocolLostRaised(self) -> None:
        """
        The protocol's C{connectionLost} raised.  The reactor's client
        transport tells its connector of the loss only after the protocol's
        C{connectionLost} returned, so the connector will never stop the
        factory: the attempt is over, as it is without trialnet.
        """
        self.running.discard(self)

    def startedConnecting(self, connector: IConnector) -> None:
        self._forward("startedConnecting", connector)

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        try:
            self._forward("clientConnectionFailed", connector, reason)
        finally:
            self._fail(reason)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        try:
            self._forward("clientConnectionLost", connector, reason)
        finally:
            self._fail(reason)

    def made(self) -> None:
        """
        The protocol's C{connectionMade} ran: the attempt succeeded.
        """
        self._onDone(self)
        assert self.connection is not None
        protocol = self.connection.protocol
        assert protocol is not None
        if not self.deferred.called:
            self.deferred.callback(protocol)

    def connectingThrough(self, endpointResult: Deferred[Any]) -> None:
        """
        An endpoint makes this attempt: its failure is the attempt's, and
        cancelling the attempt cancels it.

        @param endpointResult: What the endpoint's C{connect} returned.
        """
        self._endpointResult = endpointResult
        endpointResult.addCallbacks(_ignore, self._fail)

    def cancelAtTeardown(self) -> None:
        """
        Stop the attempt; the teardown owns its outcome, so a test that never
        waited for it is not failed later by an unhandled error.  The
        attempt counts as done if cancelling it raises: the teardown must not
        wait for it then.
        """
        try:
            cancelQuietly(self.deferred)
        except BaseException:
            self._onDone(self)
            raise

    def halt(self) -> None:
        """
        Stop the connector for good, for a teardown that gave up waiting for
        it: the application's factory hears nothing more from it (so it
        cannot connect again), except C{doStop}.
        """
        self._halted = True
        connector = self.connector
        if getattr(connector, "state", None) == "connecting":
            connector.stopConnecting()  # type: ignore[union-attr]

    def _forward(self, name: str, *args: Any) -> None:
        if self._halted:
            return
        method = getattr(self._factory, name, None)
        if method is not None:
            method(*args)

    def _fail(self, reason: Failure) -> None:
        if self.deferred.called:
            return
        self._onDone(self)
        if self._prepared is not None:
            # A protocol instance that never connected is the caller's again.
            self._prepared.detach()
        if not self._cancelled:
            self.deferred.errback(self._failure or reason)

    def _cancel(self, deferred: Deferred[IProtocol]) -> None:
        self._cancelled = True
        connector = self.connector
        endpointResult = self._endpointResult
        if endpointResult is not None and not endpointResult.called:
            endpointResult.cancel()
        elif getattr(connector, "state", None) == "connecting":
            connector.stopConnecting()  # type: ignore[union-attr]
        else:
            self._onDone(self)
