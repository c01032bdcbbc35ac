# -*- test-case-name: tests.sockets.test_clients -*-
"""
Client connections of trialnet's own: one C{connect()}, seen through a
factory of trialnet's that hands every call on to the application's factory.
(A connector the code under test made itself is in L{trialnet._sockets._connectors}.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.address import UNIXAddress
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectError
from twisted.internet.interfaces import (
    IAddress,
    IConnector,
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
    IProtocolNegotiationFactory,
)
from twisted.internet.protocol import ClientFactory, ReconnectingClientFactory
from twisted.python.failure import Failure
from twisted.python.reflect import qual
from zope.interface import alsoProvides, implementer

from .._core._lifecycle import (
    ATTEMPT_MOVES,
    AttemptEvent,
    AttemptState,
    ImpossibleMoveError,
)
from .._core._record import Record
from .._core._report import Leftover, Origin
from ._addresses import AddressKey
from ._ends import End
from ._transports import applicationFactory

# Read once: a member read through its enum class costs a Python-level
# lookup (Python 3.11), and these are read for every test.
_DIALING = AttemptState.DIALING
_ON_START = AttemptEvent.START
_ON_ABANDON = AttemptEvent.ABANDON
_RUNNING = AttemptState.RUNNING
_ON_HALT = AttemptEvent.HALT
_HALTED = AttemptState.HALTED
_ON_STOP = AttemptEvent.STOP
_ON_OUTCOME = AttemptEvent.OUTCOME
_CONNECTING = AttemptState.CONNECTING
_OVER = AttemptState.OVER


def cancelQuietly(deferred: Deferred[Any]) -> None:
    """
    Cancel a L{Deferred<twisted.internet.defer.Deferred>} the teardown owns.
    Its cancellation is expected, so it is not reported as an unhandled error
    when nobody was waiting for it.
    """
    deferred.addErrback(_ignoreCancellation)
    deferred.cancel()


def _ignore(result: object) -> None:
    pass


def _ignoreCancellation(failure: Failure) -> None:
    failure.trap(CancelledError)


def stopRetrying(factory: object) -> None:
    """
    Tell a reconnecting factory to give up, so that the close the teardown
    makes does not schedule another attempt.

    Written out in L{ClientAttempt.close} too (shaped for speed): a change
    here goes there as well.
    """
    factory = applicationFactory(factory)
    if isinstance(factory, ReconnectingClientFactory):
        factory.stopTrying()


class ClientRegistry(Protocol):
    """
    What a client record asks of its registry.
    """

    def newEnd(
        self,
        role: str,
        origin: Origin,
        protocol: IProtocol,
        observed: bool = False,
        attempt: Any = None,
        pairKey: AddressKey | None = None,
    ) -> End: ...

    def clientPairKey(self, addr: object) -> AddressKey | None: ...

    def reopened(self, record: Record) -> None: ...


class ClientAttempt(ClientFactory, Record):
    """
    The factory given to the reactor (or an endpoint) for one C{connect()}.

    The application's factory still gets C{doStart}, C{doStop},
    C{startedConnecting}, C{clientConnectionFailed} and
    C{clientConnectionLost} (when it has them) with the real connector, in
    the reactor's order; its own C{buildProtocol} builds the protocol.

    As a record it is settled once the attempt succeeded or failed and the
    connector stopped the factory.

    @ivar deferred: Fires with the protocol after its C{connectionMade} ran,
        or fails with the reason the attempt failed.
    @ivar connector: The reactor's connector, unless an endpoint connects.
    @ivar state: Where it is, moved by L{ATTEMPT_MOVES} only.
    """

    role = "client"

    # What an attempt keeps as it starts, read from the class until it sets
    # its own (see End).
    _prepared: End | None = None
    _failure: Failure | None = None
    # Inside the Deferred's canceller, which fails it itself.
    _cancelled = False
    connector: IConnector | None = None
    _endpointResult: Deferred[Any] | None = None
    # Whether it is over or halted: set beside its state at each move (see
    # End.settled).
    settled = False

    def __init__(
        self,
        factory: IProtocolFactory | None,
        protocol: IProtocol | None,
        origin: Origin,
        registry: ClientRegistry,
        onSettled: Callable[[Record], None],
    ) -> None:
        # Record's three attributes, set here as End sets them (no call of
        # Record.__init__: shaped for speed, an attempt a connect).
        self.origin = origin
        self.observed = False
        self._onSettled = onSettled
        self._factory = factory
        self._registry = registry
        self._protocol = protocol
        if protocol is not None:
            self._prepared = registry.newEnd("client", origin, protocol, attempt=self)
            self._prepared.watchConnect()
        self.state = _DIALING
        # Shaped for speed: the interface is asked only of a factory that has
        # the method it names (an interface check costs about 2,000
        # instructions, a plain attribute lookup that misses about 500).
        if getattr(
            factory, "acceptableProtocols", None
        ) is not None and IProtocolNegotiationFactory.providedBy(factory):
            # The TLS layer asks the factory it is given for ALPN protocols.
            alsoProvides(self, IProtocolNegotiationFactory)
        self.deferred: Deferred[IProtocol] = Deferred(self._cancel)

    # What the reactor calls

    # The application's protocol provides IProtocol; it need not be one of
    # Factory's Protocol subclasses.
    def buildProtocol(self, addr: IAddress) -> IProtocol | None:  # type: ignore[override]
        # Counted even when no protocol comes of it: the kernel connected.
        # Only a UNIX connection pairs in order: no call for the others, at
        # every connection (shaped for speed, as a port's factory hook).
        pairKey = (
            self._registry.clientPairKey(addr)
            if isinstance(addr, UNIXAddress)
            else None
        )
        end, self._prepared = self._prepared, None
        if end is None:
            # The first connection of a factory, or a connector that
            # connect()ed again: each connection gets a protocol of its own.
            end = self._watchNew(addr, pairKey)
            if end is None:
                return None
        else:
            end.pairKey = pairKey
        return end.protocol

    def _watchNew(self, addr: IAddress, pairKey: AddressKey | None) -> End | None:
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
            end = self._registry.newEnd(
                "client", self.origin, protocol, attempt=self, pairKey=pairKey
            )
        except (TypeError, ValueError):
            self._failure = Failure()
            return None
        end.watchConnect()
        return end

    @property
    def kind(self) -> str:
        return qual(
            type(self._factory if self._factory is not None else self._protocol)
        )

    def acceptableProtocols(self) -> list[bytes]:
        """
        The application factory's ALPN protocols, when it negotiates them.
        """
        return self._factory.acceptableProtocols()  # type: ignore[union-attr, no-any-return]

    def doStart(self) -> None:
        if self._factory is not None:
            self._factory.doStart()
        self._move(_ON_START)

    def doStop(self) -> None:
        # A connector stops its factory last, after clientConnectionLost or
        # clientConnectionFailed: only then is the attempt over for the
        # application.
        try:
            if self._factory is not None:
                self._factory.doStop()
        finally:
            self._stopped()

    def startedConnecting(self, connector: IConnector) -> None:
        # _forward(), written out: shaped for speed, one call fewer a connect.
        if self.state is not _HALTED:
            method = getattr(self._factory, "startedConnecting", None)
            if method is not None:
                method(connector)

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        try:
            self._forwardLast("clientConnectionFailed", connector, reason)
        finally:
            self._fail(reason)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        try:
            self._forwardLast("clientConnectionLost", connector, reason)
        finally:
            self._fail(reason)

    def tlsSetUpRaised(self, reason: Failure) -> None:
        """
        The client TLS options raised while setting up this attempt's
        connection.  The reactor closes the socket, but its TLS protocol then
        raises from C{connectionLost} too, so the connector never hears of
        it: the attempt fails here, with C{reason}.
        """
        self._fail(reason)
        self._stopped()

    def protocolLostRaised(self) -> None:
        """
        The protocol's C{connectionLost} raised.  The reactor's client
        transport tells its connector of the loss only after the protocol's
        C{connectionLost} returned, so the connector will never stop the
        factory: the attempt is over, as it is without trialnet.
        """
        self._stopped()

    # What the network calls

    def made(self, end: End) -> None:
        """
        The protocol's C{connectionMade} ran: the attempt succeeded.
        """
        # _done(), written out: shaped for speed, one call fewer a connect.
        if self._move(_ON_OUTCOME):
            self._onSettled(self)
        if not self.deferred.called:
            self.deferred.callback(end.protocol)  # type: ignore[arg-type]

    def abandon(self) -> None:
        """
        Dialing raised: nothing was opened, and nothing is waited for.
        """
        self._move(_ON_ABANDON)
        if self._prepared is not None:
            self._prepared.forget()

    def connectingThrough(self, opened: IConnector | Deferred[Any]) -> None:
        """
        The reactor's connector, or an endpoint's Deferred, makes this
        attempt: an endpoint's failure is the attempt's, and cancelling the
        attempt cancels it.
        """
        if isinstance(opened, Deferred):
            self._endpointResult = opened
            opened.addCallbacks(_ignore, self._fail)
        else:
            self.connector = opened

    # The teardown

    @property
    def _pending(self) -> bool:
        return self.state in _PENDING

    def _move(self, event: AttemptEvent) -> bool:
        """
        Apply a move.

        @return: Whether the state changed.
        """
        before = self.state
        # The table's move(), written out (as an end's): one call fewer.
        try:
            self.state = state = ATTEMPT_MOVES[before, event]
        except KeyError:
            raise ImpossibleMoveError(self, before, event) from None
        # Kept beside the state, as an end keeps it (see End.settled).
        self.settled = state in _SETTLED
        return state is not before

    def close(self) -> None:
        # stopRetrying(self._factory), written out: shaped for speed, one
        # call fewer an attempt, at the teardown.
        factory = applicationFactory(self._factory)
        if isinstance(factory, ReconnectingClientFactory):
            factory.stopTrying()
        # The _pending property read in place: one call fewer an attempt.
        if self.state in _PENDING:
            try:
                cancelQuietly(self.deferred)
            except BaseException:
                # The teardown must not wait for an attempt it cannot stop.
                self._done()
                raise
        elif getattr(self.connector, "state", None) == "connecting":
            # The factory connected again.
            self.connector.stopConnecting()  # type: ignore[union-attr]

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if self._pending:
            self._done()
            return self.leftover(
                "an endpoint connect that neither finished nor stopped when cancelled"
            )
        if self.state is _RUNNING:
            # Stop the connector for good: the application's factory hears
            # nothing more from it (so it cannot connect again).
            self._move(_ON_HALT)
            if getattr(self.connector, "state", None) == "connecting":
                self.connector.stopConnecting()  # type: ignore[union-attr]
            self._settle()
            return self.leftover(
                "its factory was still running (connecting again?); its "
                "connector was stopped and the factory told no more"
            )
        return leftover

    def forget(self) -> None:
        self._prepared = None
        self.connector = None
        self._endpointResult = None

    # Inside

    def _forward(self, name: str, *args: Any) -> None:
        # Written out in startedConnecting too (shaped for speed): a change
        # here goes there as well.
        if self.state is _HALTED:
            return
        method = getattr(self._factory, name, None)
        if method is not None:
            method(*args)

    def _forwardLast(self, name: str, *args: Any) -> None:
        try:
            self._forward(name, *args)
        except BaseException:
            # The connector stops its factory only after this returns.
            self._stopped()
            raise

    def _stopped(self) -> None:
        if self._move(_ON_STOP):
            # Record._settle(), written out: one call fewer an attempt.
            self._onSettled(self)

    def _done(self) -> None:
        # Written out in made() too (shaped for speed).
        if self._move(_ON_OUTCOME):
            # Record._settle(), written out: one call fewer an attempt.
            self._onSettled(self)

    def _fail(self, reason: Failure) -> None:
        if self.deferred.called:
            return
        self._done()
        if self._prepared is not None:
            # A protocol instance that never connected is the caller's again.
            self._prepared.forget()
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
            self._done()


#: The states in which an attempt's outcome is not known yet.
_PENDING = frozenset([_DIALING, _CONNECTING])
#: The states in which the teardown waits for nothing more.
_SETTLED = frozenset([_OVER, _HALTED])


@implementer(IOpenSSLClientConnectionCreator)
class _FailingAttempts:
    """
    Client TLS options whose failure to set up a connection fails the
    L{ClientAttempt} it was for.
    """

    def __init__(self, options: IOpenSSLClientConnectionCreator) -> None:
        self._options = options

    def clientConnectionForTLS(self, tlsProtocol: Any) -> Any:
        try:
            return self._options.clientConnectionForTLS(tlsProtocol)
        except BaseException:
            attempt = getattr(
                getattr(tlsProtocol, "factory", None), "wrappedFactory", None
            )
            if isinstance(attempt, ClientAttempt):
                attempt.tlsSetUpRaised(Failure())
            raise


def failingAttempts(options: object) -> object:
    """
    Client TLS options for a connect of trialnet's own: when they raise
    while setting up the connection, C{connect()} fails with their error
    rather than waiting forever.  Options that are not a connection creator
    (an old-style context factory) are returned as they are.
    """
    if IOpenSSLClientConnectionCreator.providedBy(options):
        return _FailingAttempts(options)
    return options
