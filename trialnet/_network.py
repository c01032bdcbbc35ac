"""
The core: one test's ports, connections and their teardown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import (
    IConnector,
    IDelayedCall,
    IHalfCloseableProtocol,
    IListeningPort,
    IProtocol,
    IProtocolFactory,
)
from twisted.python import log
from twisted.python.failure import Failure

from ._client import ClientAttempt, cancelQuietly
from ._report import Leftover, Origin, TeardownError, callerOrigin
from ._targets import (
    checkFactory,
    checkIPLiteral,
    checkPortNumber,
    checkPositive,
    connectionTarget,
    splitFactoryOrProtocol,
)
from ._tracking import AddressKey, Connection, FactoryHook, Port

_T = TypeVar("_T")

#: Seconds to wait, after aborting, for the aborted connections to report
#: C{connectionLost} before their sockets are closed by force.  Aborting
#: delivers C{connectionLost} one reactor turn later, so this is generous.
ABORT_GRACE = 1.0


class Network:
    """
    One test's listening ports and connections, and their teardown.

    Everything opened through it, or adopted with L{track}, is closed by
    L{close}: ports stop listening, connection attempts stop, every
    connection end is closed, and all of it is waited for, for at most
    C{disconnectTimeout} seconds before what is left is aborted and reported.

    L{trialnet.NetworkTestCase} makes one per test; use it directly from a
    fixture of another test runner.

    @ivar disconnectTimeout: Seconds allowed for an orderly close.
    """

    def __init__(self, reactor: Any = None, disconnectTimeout: float = 5.0) -> None:
        """
        @param reactor: The reactor to listen and connect with; the global
            reactor by default.
        @param disconnectTimeout: Seconds allowed for an orderly close before
            the teardown aborts what is left.
        @raise TypeError: If C{disconnectTimeout} is not a number.
        @raise ValueError: If it is not positive.
        """
        self.disconnectTimeout = checkPositive(disconnectTimeout, "disconnectTimeout")
        if reactor is None:
            from twisted.internet import reactor as globalReactor  # noqa: N812

            reactor = globalReactor
        self._reactor: Any = reactor
        self._ports: dict[int, Port] = {}
        self._factoryHooks: dict[int, FactoryHook] = {}
        self._attempts: set[ClientAttempt] = set()
        self._connectors: list[tuple[IConnector, Origin]] = []
        self._connections: dict[int, Connection] = {}
        self._open: set[Connection] = set()
        self._serversByPeer: dict[AddressKey, Connection] = {}
        self._serverWaiters: dict[AddressKey, list[Deferred[IProtocol]]] = {}
        self._closing = False
        self._stepping = False
        self._closed = False
        self._outcome: Failure | None = None
        self._closeWaiters: list[Deferred[None]] = []
        self._pendingPorts = 0
        self._startedAt = 0.0
        self._readersAtClose: set[object] = set()
        self._leftovers: list[Leftover] = []
        self._abortedAt: dict[Connection, int] = {}
        self._timer: IDelayedCall | None = None
        self._finalCheck: IDelayedCall | None = None

    # Opening

    def listen(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IListeningPort:
        """
        Listen for TCP connections; the port and every connection it accepts
        are closed at the teardown.

        @param factory: The application's factory; the port holds this very
            object, and its protocols keep the reactor's real transports.
        @param port: The port number; 0, the default, lets the kernel choose
            a free one (safe under C{trial -j} and C{pytest -n}).
        @param interface: An IPv4 or IPv6 literal; loopback by default.
        @param backlog: The listen queue's size.
        @return: The reactor's L{IListeningPort}, listening.
        @raise TypeError: If C{factory} is not an L{IProtocolFactory} or an
            argument has the wrong type.
        @raise ValueError: If C{interface} is a name rather than an IP
            literal, or a number is out of range.
        """
        origin = callerOrigin()
        self._checkOpen()
        checkFactory(factory)
        checkPortNumber(port, "port", allowZero=True)
        checkIPLiteral(interface, "interface")
        checkPortNumber(backlog, "backlog", allowZero=False)
        hook = self._hookFactory(factory)
        try:
            listening = self._reactor.listenTCP(port, factory, backlog, interface)
        except BaseException:
            self._unhookFactory(hook)
            raise
        self._addPort(listening, origin, hook, listening=True)
        return listening  # type: ignore[no-any-return]

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
    ) -> Deferred[IProtocol]:
        """
        Connect a TCP client; the connection is closed at the teardown.

        @param target: A port returned by L{listen} (its current address), an
            L{IPv4Address} or L{IPv6Address}, or a C{(host, port)} tuple with
            an IP literal.
        @param factoryOrProtocol: A protocol factory (a
            L{ClientFactory<twisted.internet.protocol.ClientFactory>} keeps its
            C{clientConnectionFailed}/C{clientConnectionLost} callbacks), or a
            protocol instance that is not connected.
        @param timeout: Seconds the connection attempt may take.
        @return: A L{Deferred} that fires with the client protocol after its
            C{connectionMade} ran, or fails with the reactor's error (for
            example L{ConnectionRefusedError
            <twisted.internet.error.ConnectionRefusedError>}), leaving nothing
            open.  Cancelling it stops the attempt.
        @raise TypeError: If an argument has the wrong type.
        @raise ValueError: If the host is a name, a number is out of range,
            or the protocol instance is already connected.
        """
        origin = callerOrigin()
        self._checkOpen()
        host, port = connectionTarget(target)
        checkPositive(timeout, "timeout")
        factory, protocol = splitFactoryOrProtocol(factoryOrProtocol)
        connection = None
        if protocol is not None:
            connection = self._newConnection("client", origin, protocol)
            connection.watchConnect()

        def watch(built: IProtocol) -> Connection:
            return self._newConnection("client", origin, built)

        attempt = ClientAttempt(factory, connection, watch, self._attempts.discard)
        self._attempts.add(attempt)
        try:
            connector = self._reactor.connectTCP(host, port, attempt, timeout=timeout)
        except BaseException:
            self._attempts.discard(attempt)
            if connection is not None:
                connection.detach()
            raise
        attempt.connector = connector
        # The connector stays tracked after this attempt: a factory may use
        # it to connect again.
        self._connectors.append((connector, origin))
        return attempt.deferred

    def track(self, thing: _T) -> _T:
        """
        Adopt something the code under test opened itself into the same
        teardown.

        @param thing: An L{IListeningPort} (its factory's future connections
            are tracked too), an L{IConnector} (stopped if still connecting,
            its connection closed if connected), or a connected protocol.
        @return: C{thing}.
        @raise TypeError: For anything else.
        @raise ValueError: For a protocol that is not connected.
        """
        origin = callerOrigin()
        self._checkOpen()
        if IListeningPort.providedBy(thing):
            self._trackPort(thing, origin)
        elif IConnector.providedBy(thing):
            self._connectors.append((thing, origin))
        elif IProtocol.providedBy(thing):
            self._trackProtocol(thing, origin, "tracked")
        else:
            raise TypeError(
                f"track() takes an IListeningPort, an IConnector or a "
                f"connected IProtocol, not {thing!r}"
            )
        return thing

    def serverProtocolFor(self, client: IProtocol) -> Deferred[IProtocol]:
        """
        Find the protocol one of this network's ports built for the other end
        of a client connection.

        @param client: A protocol that L{connect} connected; it may have
            closed since (ends are matched on the addresses recorded when it
            connected).
        @return: A L{Deferred} that fires with the server protocol once its
            C{connectionMade} ran.  If the teardown comes first, it is
            cancelled.
        @raise ValueError: If C{client} did not come from L{connect}, or is
            not connected to one of this network's ports.
        """
        connection = self._connections.get(id(client))
        if (
            connection is None
            or connection.role != "client"
            or connection.hostKey is None
        ):
            raise ValueError(
                f"{client!r} is not a client connected by this network's connect()"
            )
        server = self._serversByPeer.get(connection.hostKey)
        if server is not None and server.protocol is not None:
            return succeed(server.protocol)
        if self._portAt(connection.peerKey) is None:
            raise ValueError(
                f"{client!r} is connected to {connection.peerText}, which is "
                f"not a port of this network"
            )
        waiter: Deferred[IProtocol] = Deferred()
        self._serverWaiters.setdefault(connection.hostKey, []).append(waiter)
        return waiter

    # Closing

    def close(self) -> Deferred[None]:
        """
        The whole teardown: stop every port, stop every connection attempt,
        close every connection end, and wait for all of it.

        After C{disconnectTimeout} seconds, what has not closed is aborted;
        a moment later, what still has not is closed by force.  Either way
        every socket is released and the network forgets every protocol,
        transport and factory.

        @return: A new L{Deferred} on each call, firing with L{None} when all
            closed in an orderly way, or failing with L{TeardownError} naming
            each leftover.
        """
        result: Deferred[None] = Deferred()
        if self._closed:
            result.callback(self._outcome)
            return result
        self._closeWaiters.append(result)
        if not self._closing:
            self._beginClose()
        return result

    def _beginClose(self) -> None:
        self._closing = True
        self._startedAt = self._reactor.seconds()
        self._readersAtClose = set(self._reactor.getReaders())
        self._timer = self._reactor.callLater(
            self.disconnectTimeout, self._step, self._abortLeftovers
        )
        self._step(self._closeEverything)

    def _step(self, step: Callable[[], None]) -> None:
        """
        Run one step of the teardown.  The teardown may only finish once the
        whole step ran, never midway through its loop over what it closes.
        """
        self._stepping = True
        try:
            step()
        finally:
            self._stepping = False
        self._checkDone()

    def _closeEverything(self) -> None:
        for port in self._ports.values():
            self._pendingPorts += 1
            port.stop().addCallback(self._portStopped)
        for attempt in list(self._attempts):
            _guarded(attempt.cancelAtTeardown, "cancelling a connection attempt")
        self._closeConnectors()
        for connection in list(self._open):
            self._loseConnection(connection)

    def _closeConnectors(self) -> None:
        for connector, origin in self._connectors:
            state = getattr(connector, "state", None)
            if state == "connecting":
                _guarded(connector.stopConnecting, "stopping a connector")
            elif state == "connected":
                protocol = getattr(
                    getattr(connector, "transport", None), "protocol", None
                )
                if protocol is not None:
                    self._trackProtocol(protocol, origin, "client")

    def _loseConnection(self, connection: Connection) -> None:
        _guarded(connection.transport.loseConnection, f"closing {connection.kind}")

    def _portStopped(self, ignored: None) -> None:
        self._pendingPorts -= 1
        self._checkDone()

    def _checkDone(self) -> None:
        if (
            self._closing
            and not self._closed
            and not self._stepping
            and not self._open
            and not self._attempts
            and not self._pendingPorts
        ):
            self._finish()

    def _abortLeftovers(self) -> None:
        waited = self._reactor.seconds() - self._startedAt
        action = f"aborted after {waited:.2f}s"
        for connection in list(self._open):
            self._abortedAt[connection] = len(self._leftovers)
            self._leftovers.append(self._leftover(connection, action))
            abort = getattr(connection.transport, "abortConnection", None)
            if abort is None:
                self._loseConnection(connection)
            else:
                _guarded(abort, f"aborting {connection.kind}")
        for port in self._ports.values():
            if not port.stopped:
                self._leftovers.append(
                    self._portLeftover(port, f"still listening after {waited:.2f}s")
                )
        self._timer = self._reactor.callLater(ABORT_GRACE, self._step, self._forceClose)

    def _forceClose(self) -> None:
        """
        Release the sockets of whatever ignored even C{abortConnection}, and
        tell their protocols the connection is gone.
        """
        for connection in list(self._open):
            index = self._abortedAt.get(connection)
            if index is not None:
                self._leftovers[index] = replace(
                    self._leftovers[index],
                    action=self._leftovers[index].action
                    + "; it still did not close, so its socket was closed by force",
                )
            self._releaseSocket(connection.transport)
            try:
                connection.protocol.connectionLost(  # type: ignore[union-attr]
                    Failure(ConnectionAborted())
                )
            except Exception:
                log.err(None, f"trialnet: connectionLost failed on {connection.kind}")
            if connection in self._open:
                self._markClosed(connection)
        for port in self._ports.values():
            if not port.stopped:
                port.forceStopped(self._reactor)

    def _finish(self) -> None:
        self._closed = True
        for call in (self._timer, self._finalCheck):
            if call is not None and call.active():
                call.cancel()
        self._timer = self._finalCheck = None
        for port in self._ports.values():
            if port.stopFailure is not None:
                failure = port.stopFailure
                self._leftovers.append(
                    self._portLeftover(
                        port, f"failed to stop: {failure.getErrorMessage()}"
                    )
                )
        waited = self._reactor.seconds() - self._startedAt
        if self._leftovers:
            self._outcome = Failure(TeardownError(self._leftovers, waited))
        self._cancelServerWaiters()
        self._forget()
        waiters, self._closeWaiters = self._closeWaiters, []
        for waiter in waiters:
            if not waiter.called:
                waiter.callback(self._outcome)

    def _cancelServerWaiters(self) -> None:
        for waiters in self._serverWaiters.values():
            for waiter in waiters:
                cancelQuietly(waiter)

    def _forget(self) -> None:
        for port in self._ports.values():
            port.detach()
        for hook in self._factoryHooks.values():
            hook.remove()
        for connection in self._connections.values():
            connection.detach()
        self._ports.clear()
        self._factoryHooks.clear()
        self._connections.clear()
        self._connectors.clear()
        self._serversByPeer.clear()
        self._serverWaiters.clear()
        self._readersAtClose.clear()
        self._abortedAt.clear()
        self._leftovers = []

    def _releaseSocket(self, transport: object) -> None:
        self._reactor.removeReader(transport)
        self._reactor.removeWriter(transport)
        getHandle = getattr(transport, "getHandle", None)
        handle = getHandle() if getHandle is not None else None
        close = getattr(handle, "close", None)
        if close is not None:
            close()

    # Reporting

    def _leftover(self, connection: Connection, action: str) -> Leftover:
        return Leftover(
            role=connection.role,
            kind=connection.kind,
            local=connection.hostText,
            peer=connection.peerText,
            origin=connection.origin,
            cause=self._cause(connection),
            action=action,
        )

    def _portLeftover(self, port: Port, action: str) -> Leftover:
        return Leftover("port", port.kind, port.hostText, "", port.origin, "", action)

    def _cause(self, connection: Connection) -> str:
        """
        Say what is known to keep a connection open.
        """
        transport = connection.transport
        producer = getattr(transport, "producer", None)
        if producer is not None:
            return (
                f"a registered producer ({type(producer).__qualname__}) that was "
                f"never unregistered"
            )
        unsent = _unsentBytes(transport)
        if unsent:
            return f"{unsent} bytes the peer did not read"
        if transport not in self._readersAtClose:
            if IHalfCloseableProtocol.providedBy(connection.protocol):
                return (
                    "a half-closed connection: the peer closed its side and "
                    "the protocol (IHalfCloseableProtocol) never closed its own"
                )
            return "a transport that was not reading (paused)"
        return ""

    # Bookkeeping

    def _checkOpen(self) -> None:
        if self._closing:
            raise RuntimeError(
                "this trialnet Network is closed or closing; open ports and "
                "connections before its teardown starts"
            )

    def _hookFactory(self, factory: IProtocolFactory) -> FactoryHook:
        hook = self._factoryHooks.get(id(factory))
        if hook is None:
            hook = FactoryHook(factory, self._serverBuilt)
            self._factoryHooks[id(factory)] = hook
        return hook

    def _unhookFactory(self, hook: FactoryHook) -> None:
        if not hook.ports:
            for key, value in list(self._factoryHooks.items()):
                if value is hook:
                    del self._factoryHooks[key]
            hook.remove()

    def _addPort(
        self,
        port: IListeningPort,
        origin: Origin,
        hook: FactoryHook | None,
        listening: bool,
    ) -> None:
        record = Port(port, origin, listening)
        self._ports[id(port)] = record
        if hook is not None:
            hook.ports.append(record)

    def _trackPort(self, port: IListeningPort, origin: Origin) -> None:
        if id(port) in self._ports:
            return
        factory = getattr(port, "factory", None)
        hook = None
        if IProtocolFactory.providedBy(factory) and hasattr(factory, "__dict__"):
            hook = self._hookFactory(factory)
        self._addPort(
            port, origin, hook, listening=bool(getattr(port, "connected", True))
        )

    def _trackProtocol(self, protocol: IProtocol, origin: Origin, role: str) -> None:
        known = self._connections.get(id(protocol))
        if known is not None and known.protocol is protocol and not known.closed:
            return
        transport = getattr(protocol, "transport", None)
        if transport is None or not getattr(protocol, "connected", True):
            raise ValueError(
                f"track() takes a connected protocol; {protocol!r} is not connected"
            )
        connection = self._newConnection(role, origin, protocol)
        connection.adoptConnected(transport)
        self._connectionMade(connection)

    def _portAt(self, key: AddressKey | None) -> Port | None:
        """
        Find the tracked port with the port number of C{key}, or L{None}.
        """
        if key is not None:
            for port in self._ports.values():
                if port.hostKey is not None and port.hostKey[1] == key[1]:
                    return port
        return None

    def _newConnection(
        self, role: str, origin: Origin, protocol: IProtocol
    ) -> Connection:
        connection = Connection(
            role, origin, protocol, self._connectionMade, self._connectionLost
        )
        self._connections[id(protocol)] = connection
        return connection

    def _serverBuilt(self, hook: FactoryHook, protocol: IProtocol) -> IProtocol | None:
        origin = hook.ports[0].origin if hook.ports else callerOrigin()
        try:
            connection = self._newConnection("server", origin, protocol)
        except (TypeError, ValueError):
            log.err(
                None,
                "trialnet refused a connection its factory's protocol cannot serve",
            )
            return None
        connection.watchConnect()
        return protocol

    def _connectionMade(self, connection: Connection) -> None:
        self._open.add(connection)
        if connection.role == "server":
            self._serverMade(connection)
        if self._closing:
            self._loseConnection(connection)
        if connection.attempt is not None:
            connection.attempt.made()

    def _serverMade(self, connection: Connection) -> None:
        port = self._portAt(connection.hostKey)
        if port is not None:
            connection.origin = port.origin
        key = connection.peerKey
        if key is None:
            return
        self._serversByPeer[key] = connection
        protocol = connection.protocol
        assert protocol is not None
        for waiter in self._serverWaiters.pop(key, []):
            waiter.callback(protocol)

    def _connectionLost(self, connection: Connection) -> None:
        self._markClosed(connection)

    def _markClosed(self, connection: Connection) -> None:
        self._open.discard(connection)
        if self._closing and not self._open and self._finalCheck is None:
            # A client factory hears clientConnectionLost and doStop only
            # after the protocol's connectionLost: let the connector finish.
            self._finalCheck = self._reactor.callLater(0, self._lastTurn)

    def _lastTurn(self) -> None:
        self._finalCheck = None
        self._checkDone()


def _guarded(call: Callable[[], object], what: str) -> None:
    """
    Run application code for the teardown; what it raises is logged (so the
    test reports it) and the teardown goes on.
    """
    try:
        call()
    except Exception:
        log.err(None, f"trialnet teardown: error while {what}")


def _unsentBytes(transport: object) -> int:
    """
    Count what a transport still buffers for its peer, for the report.
    """
    buffered = getattr(transport, "dataBuffer", b"")
    offset = getattr(transport, "offset", 0)
    pending = getattr(transport, "_tempDataLen", 0)
    try:
        return max(0, len(buffered) - offset) + pending
    except TypeError:
        return 0
