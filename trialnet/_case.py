"""
L{NetworkTestCase}: a trial test case with a L{Network} per test.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from ._conversation import SHARE_OF_TEST_TIMEOUT
from ._network import Network
from ._report import Origin
from ._tls import TLSAuthority, processAuthority
from ._untracked import closeUntracked, selectables

_T = TypeVar("_T")


def _originOf(function: object) -> Origin:
    """
    Where a test's method (its test method, or its C{setUp}) begins, inside
    any decorator that wraps it.
    """
    if callable(function):
        function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    return Origin(getattr(code, "co_filename", "?"), getattr(code, "co_firstlineno", 0))


class NetworkTestCase(TestCase):
    """
    A trial L{TestCase<twisted.trial.unittest.TestCase>} whose ports and connections
    close by themselves.

    The first call that opens anything makes this test's L{Network} and
    registers its L{Network.close} with C{addCleanup}, so the teardown runs
    even when C{setUp} fails later, after the cleanups the test adds itself,
    and before C{tearDown}.  A teardown that had to abort anything fails the
    test with a L{trialnet.TeardownError} naming each leftover.

    After C{tearDown} (or after the cleanups, when C{setUp} failed and
    trial runs no C{tearDown}), a socket the test left in the reactor
    without trialnet (the code under test called C{listenTCP} or
    C{connectTCP} itself and never closed it) is closed, and the test fails
    with a L{trialnet.TeardownError} naming it, rather than trial reporting
    a dirty reactor.  Sockets that existed before the test are left alone.

    The waits of a L{trialnet.Recorder} connected or accepted here are
    bounded by a quarter of the test's C{timeout} unless told otherwise, so
    that a stuck wait fails with its own message before trial's timeout.

    @cvar disconnectTimeout: Seconds allowed for an orderly close before the
        teardown aborts what is left; shortened when the test's own
        C{timeout} is too short for it, so that the teardown and its report
        always finish first.
    """

    disconnectTimeout: float = 5.0
    _trialnetNetwork: Network | None = None
    _trialnetClosed = False

    def _network(self) -> Network:
        if self._trialnetClosed:
            raise RuntimeError(
                "trialnet's teardown of this test already ran (trial runs "
                "cleanups before tearDown); open ports and connections in "
                "setUp or in the test method"
            )
        network = self._trialnetNetwork
        if network is None:
            network = Network(disconnectTimeout=self.disconnectTimeout)
            network._testWaitTimeout = self._waitTimeout
            self._trialnetNetwork = network
            self.addCleanup(self._closeNetwork)
        return network

    def run(self, result: Any) -> None:  # type: ignore[override]
        """
        Run the test as trial does; after its C{tearDown} (or, when C{setUp}
        failed and trial runs no C{tearDown}, after its cleanups), close every
        socket it left in the reactor without trialnet, and fail the test
        with a report naming them (sockets that existed before it are left
        alone).
        """
        from twisted.internet import reactor

        before = selectables(reactor)
        ownSetUp, ownTearDown = self.setUp, self.tearDown

        def closeLeftovers(function: object) -> Deferred[None]:
            return Deferred.fromCoroutine(
                closeUntracked(reactor, before, _originOf(function))
            )

        def setUp() -> Deferred[None]:
            return maybeDeferred(ownSetUp).addErrback(setUpFailed)

        def setUpFailed(failure: Failure) -> Failure:
            # Trial runs the cleanups but no tearDown: look after the last
            # cleanup, when everything else had its chance to close.
            self._addFirstCleanup(closeLeftovers, ownSetUp)
            return failure

        def tearDown() -> Deferred[None]:
            testMethod = getattr(self, self._testMethodName, None)
            return maybeDeferred(ownTearDown).addCallback(
                lambda ignored: closeLeftovers(testMethod)
            )

        # Trial refuses a generator function (a forgotten inlineCallbacks),
        # and must still see it to do so.
        if not inspect.isgeneratorfunction(ownSetUp):
            self.setUp = setUp  # type: ignore[method-assign, assignment]
        if not inspect.isgeneratorfunction(ownTearDown):
            self.tearDown = tearDown  # type: ignore[method-assign, assignment]
        try:
            super().run(result)  # type: ignore[no-untyped-call]
        finally:
            vars(self).pop("setUp", None)
            vars(self).pop("tearDown", None)

    def _addFirstCleanup(self, function: Callable[..., object], *args: object) -> None:
        """
        Register a cleanup to run after every other one (trial runs them last
        in, first out).  Trial keeps them in C{_cleanups}, as the standard
        library's C{unittest} does; should that ever change, nothing is
        added: run any earlier, the cleanup would find what the others are
        still to close.
        """
        cleanups = getattr(self, "_cleanups", None)
        if isinstance(cleanups, list):
            cleanups.insert(0, (function, args, {}))

    def _waitTimeout(self) -> float:
        return float(self.getTimeout()) * SHARE_OF_TEST_TIMEOUT  # type: ignore[no-untyped-call]

    def _closeNetwork(self) -> Deferred[None]:
        network, self._trialnetNetwork = self._trialnetNetwork, None
        self._trialnetClosed = True
        assert network is not None
        # Trial gives each cleanup the test's timeout: end, and report,
        # before it would.
        network.fitWithin(float(self.getTimeout()))  # type: ignore[no-untyped-call]
        return network.close()

    def listen(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IListeningPort:
        """
        Listen for TCP connections until this test's teardown; see
        L{Network.listen}.

        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}.
        """
        return self._network().listen(factory, port, interface, backlog)

    def listenTLS(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
        options: object = None,
    ) -> IListeningPort:
        """
        Listen for TLS connections, with a certificate of L{tlsAuthority}
        unless C{options} says otherwise; see L{Network.listenTLS}.

        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}.
        """
        return self._network().listenTLS(factory, port, interface, backlog, options)

    def listenUNIX(
        self, factory: IProtocolFactory, backlog: int = 50
    ) -> IListeningPort:
        """
        Listen on a UNIX socket in a private directory removed at this test's
        teardown; see L{Network.listenUNIX}.

        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}.
        """
        return self._network().listenUNIX(factory, backlog)

    def listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IListeningPort:
        """
        Listen for UDP datagrams until this test's teardown; see
        L{Network.listenUDP}.

        @return: The reactor's
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}.
        """
        return self._network().listenUDP(protocol, port, interface, maxPacketSize)

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[IProtocol]:
        """
        Connect a client, closed at this test's teardown; see
        L{Network.connect}.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} firing with the client
            protocol once its C{connectionMade} ran.
        """
        return self._network().connect(target, factoryOrProtocol, timeout, tlsOptions)

    def serverEndpoint(
        self,
        transport: str = "tcp",
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IStreamServerEndpoint:
        """
        A server endpoint whose ports and connections close at this test's
        teardown; see L{Network.serverEndpoint}.

        @return: An
            L{IStreamServerEndpoint<twisted.internet.interfaces.IStreamServerEndpoint>}.
        """
        return self._network().serverEndpoint(transport, port, interface, backlog)

    def clientEndpoint(
        self, target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        """
        A client endpoint whose connections close at this test's teardown;
        see L{Network.clientEndpoint}.

        @return: An
            L{IStreamClientEndpoint<twisted.internet.interfaces.IStreamClientEndpoint>}.
        """
        return self._network().clientEndpoint(target, timeout, tlsOptions)

    def acceptedProtocol(self, port: IListeningPort) -> Deferred[IProtocol]:
        """
        The oldest protocol C{port} built that was not handed out yet, for
        clients this test did not open; see L{Network.acceptedProtocol}.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} firing with the server
            protocol.
        """
        return self._network().acceptedProtocol(port)

    def whenClosed(self, protocol: IProtocol) -> Deferred[None]:
        """
        Wait for one tracked connection end to close; see
        L{Network.whenClosed}.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} firing with C{None}
            after its C{connectionLost}.
        """
        return self._network().whenClosed(protocol)

    @property
    def tlsAuthority(self) -> TLSAuthority:
        """
        The certificate authority made for this test run; see
        L{Network.tlsAuthority}.
        """
        return processAuthority()

    def serverProtocolFor(self, client: IProtocol) -> Deferred[IProtocol]:
        """
        The protocol this test's port built for the other end of C{client};
        see L{Network.serverProtocolFor}.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} firing with the server
            protocol.
        """
        return self._network().serverProtocolFor(client)

    @overload
    def track(self, thing: IStreamClientEndpoint) -> IStreamClientEndpoint: ...

    @overload
    def track(self, thing: IStreamServerEndpoint) -> IStreamServerEndpoint: ...

    @overload
    def track(self, thing: _T) -> _T: ...

    def track(self, thing: object) -> object:
        """
        Adopt a port, connector, connected protocol, endpoint or connection
        pool the code under test opened itself into this test's teardown;
        see L{Network.track}.

        @return: C{thing}, or a tracking endpoint for an endpoint.
        """
        return self._network().track(thing)
