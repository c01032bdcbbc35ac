"""
L{NetworkTestCase}: a trial test case with a L{Network} per test.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import AbstractDatagramProtocol, Factory
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

if TYPE_CHECKING:
    from twisted.internet.protocol import _ProtoWithFactory
    from twisted.web.client import Agent, HTTPConnectionPool

from ._conversation import SHARE_OF_TEST_TIMEOUT
from ._datagrams import DatagramLink
from ._interfaces import INetwork
from ._links import Link
from ._network import Network
from ._report import Origin
from ._targets import PortFront
from ._tls import TLSAuthority, processAuthority
from ._untracked import closeUntracked, selectables

_T = TypeVar("_T")
_P = TypeVar("_P", bound=IProtocol)
# Twisted types Factory[P] with P bound to this private protocol.
_FP = TypeVar("_FP", bound="_ProtoWithFactory")


def _originOf(function: object) -> Origin:
    """
    Where a test's method (its test method, or its C{setUp}) begins, inside
    any decorator that wraps it.
    """
    if callable(function):
        function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    return Origin(getattr(code, "co_filename", "?"), getattr(code, "co_firstlineno", 0))


@implementer(INetwork)
class NetworkTestCase(TestCase):
    """
    A trial L{TestCase<twisted.trial.unittest.TestCase>} whose ports and
    connections close by themselves; see
    L{INetwork<trialnet._interfaces.INetwork>} for each method.

    Before C{setUp}, it makes this test's L{Network}, which observes the
    reactor until the test's run ends.  At the first thing opened (by the
    test or by the code under test) it registers L{Network.close} with
    C{addCleanup}: the teardown runs even when C{setUp} fails, after the
    cleanups the test adds from then on, and before C{tearDown}.  What the
    code under test opens on the reactor during the test joins the same
    teardown.  A teardown that had to
    abort anything fails the test with a L{trialnet.TeardownError} naming each
    leftover.

    A network first used in C{tearDown} (after the cleanups ran) is closed
    after C{tearDown}.  Last, a socket left in the reactor by means trialnet
    cannot see is closed, and the test fails with a report naming it, rather
    than trial reporting a dirty reactor.  Sockets that existed before the
    test are left alone.

    The waits of a L{trialnet.Recorder} connected or accepted here are
    bounded by a quarter of the test's C{timeout} unless told otherwise, so
    that a stuck wait fails with its own message before trial's timeout.

    @cvar disconnectTimeout: Seconds allowed for an orderly close before the
        teardown aborts what is left; read when the teardown begins, and
        shortened when the test's own C{timeout} is too short for it, so that
        the teardown and its report always finish first.
    @cvar strictCleanup: Whether what the code under test left open when the
        test ended fails the test, with the line that opened it (see
        L{INetwork.strictCleanup<trialnet._interfaces.INetwork.strictCleanup>}).
    """

    disconnectTimeout: float = 5.0
    strictCleanup: bool = False
    _trialnetNetwork: Network | None = None
    _trialnetLate: Network | None = None
    _trialnetRegistered = False
    _trialnetClosed = False

    def _network(self) -> Network:
        if self._trialnetClosed:
            # Used in tearDown, after trial ran the cleanups: closed after
            # tearDown.
            if self._trialnetLate is None:
                # Closed after tearDown by run(), not as a cleanup: trial
                # already ran those.
                self._trialnetLate = self._newNetwork(whenOpened=_nothingToDo)
            return self._trialnetLate
        network = self._observing()
        self._registerClose()
        return network

    def _observing(self) -> Network:
        """
        This test's network, observing the reactor from before C{setUp}.
        """
        if self._trialnetNetwork is None:
            self._trialnetNetwork = self._newNetwork()
        return self._trialnetNetwork

    def _registerClose(self) -> None:
        """
        At the first thing opened, register the teardown as a cleanup: it
        runs after the cleanups the test adds later, as trial runs them last
        in, first out.
        """
        if not self._trialnetRegistered:
            self._trialnetRegistered = True
            self.addCleanup(self._closeNetwork)

    def _newNetwork(self, whenOpened: Callable[[], None] | None = None) -> Network:
        network = _CaseNetwork(
            self._registerClose if whenOpened is None else whenOpened,
            disconnectTimeout=self.disconnectTimeout,
            waitTimeout=float(self.getTimeout()) * SHARE_OF_TEST_TIMEOUT,  # type: ignore[no-untyped-call]
            strictCleanup=self.strictCleanup,
        )
        vars(self).setdefault("_trialnetMade", []).append(network)
        return network

    def run(self, result: Any) -> None:  # type: ignore[override]
        """
        Run the test as trial does, with this test's network open from
        before C{setUp} to the cleanups; after C{tearDown} (or, when C{setUp}
        failed and trial runs no C{tearDown}, after the cleanups), close and
        report every socket left in the reactor by means trialnet cannot see.
        """
        from twisted.internet import reactor

        # The same instance may run again (trial -u).
        self._trialnetNetwork = self._trialnetLate = None
        self._trialnetMade: list[Network] = []
        self._trialnetClosed = self._trialnetRegistered = False
        before = selectables(reactor)
        ownSetUp, ownTearDown = self.setUp, self.tearDown

        def closeLeftovers(function: object) -> Deferred[None]:
            return Deferred.fromCoroutine(
                closeUntracked(reactor, before, _originOf(function))
            )

        def setUp() -> Deferred[None]:
            self._observing()
            return maybeDeferred(ownSetUp).addErrback(setUpFailed)

        def setUpFailed(failure: Failure) -> Failure:
            # Trial runs the cleanups but no tearDown: look after the last
            # cleanup, when everything else had its chance to close.
            self._addFirstCleanup(closeLeftovers, ownSetUp)
            return failure

        def tearDown() -> Deferred[None]:
            testMethod = getattr(self, self._testMethodName, None)
            # Trial ran the cleanups: a network used from here on is closed
            # after tearDown.
            self._endObserving()
            done = maybeDeferred(ownTearDown)
            done.addBoth(lambda outcome: _after(self._closeLate(), outcome))
            done.addBoth(lambda outcome: _after(closeLeftovers(testMethod), outcome))
            return done

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
            for network in (self._trialnetNetwork, self._trialnetLate):
                if network is not None and not self._trialnetRegistered:
                    # Nothing was opened: closing is immediate.
                    network.close()
            # Observation ends last, after every cleanup and tearDown: a
            # cleanup of trial's (a self.patch of the reactor's connectTCP,
            # say) puts back what it found, which may be the observer's.
            made, self._trialnetMade = self._trialnetMade, []
            for network in made:
                network.stopObserving()
            self._trialnetNetwork = self._trialnetLate = None

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

    def _endObserving(self) -> None:
        """
        The cleanups ran: this test's network, if it closed nothing, closes
        now and stops observing.
        """
        self._trialnetClosed = True
        network = self._trialnetNetwork
        if network is not None and not self._trialnetRegistered:
            self._trialnetNetwork = None
            network.close()

    def _closeNetwork(self) -> Deferred[None]:
        network, self._trialnetNetwork = self._trialnetNetwork, None
        self._trialnetClosed = True
        if network is None:
            return Deferred.fromCoroutine(_nothing())
        return self._close(network)

    def _closeLate(self) -> Deferred[None]:
        network, self._trialnetLate = self._trialnetLate, None
        if network is None:
            return Deferred.fromCoroutine(_nothing())
        return self._close(network)

    def _close(self, network: Network) -> Deferred[None]:
        # What the test set on itself since, it meant for its teardown.
        network.disconnectTimeout = self.disconnectTimeout
        network.strictCleanup = self.strictCleanup
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
        return self._network().listen(factory, port, interface, backlog)

    def listenTLS(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
        options: object = None,
    ) -> IListeningPort:
        return self._network().listenTLS(factory, port, interface, backlog, options)

    def listenUNIX(
        self, factory: IProtocolFactory, backlog: int = 50
    ) -> IListeningPort:
        return self._network().listenUNIX(factory, backlog)

    def listenUDP(
        self,
        protocol: AbstractDatagramProtocol,
        port: int = 0,
        interface: str = "127.0.0.1",
        maxPacketSize: int = 8192,
    ) -> IListeningPort:
        return self._network().listenUDP(protocol, port, interface, maxPacketSize)

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: Factory[_FP],
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[_FP]: ...

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: _P,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[_P]: ...

    @overload
    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[IProtocol]: ...

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
        tlsOptions: object = None,
    ) -> Deferred[Any]:
        return self._network().connect(
            target,
            factoryOrProtocol,
            timeout,
            tlsOptions,
        )

    def serverEndpoint(
        self,
        transport: str = "tcp",
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IStreamServerEndpoint:
        return self._network().serverEndpoint(transport, port, interface, backlog)

    def clientEndpoint(
        self, target: object, timeout: float = 30.0, tlsOptions: object = None
    ) -> IStreamClientEndpoint:
        return self._network().clientEndpoint(target, timeout, tlsOptions)

    def agent(
        self, pool: HTTPConnectionPool | None = None, connectTimeout: float = 30.0
    ) -> Agent:
        return self._network().agent(pool, connectTimeout)

    @overload
    def url(self, port: IListeningPort | PortFront, path: bytes = b"/") -> bytes: ...

    @overload
    def url(self, port: IListeningPort | PortFront, path: str) -> str: ...

    def url(
        self, port: IListeningPort | PortFront, path: str | bytes = b"/"
    ) -> str | bytes:
        return self._network().url(port, path)

    @overload
    def acceptedProtocol(
        self, port: IListeningPort, expected: type[_P]
    ) -> Deferred[_P]: ...

    @overload
    def acceptedProtocol(
        self, port: IListeningPort, expected: type[IProtocol] | None = None
    ) -> Deferred[IProtocol]: ...

    def acceptedProtocol(
        self, port: IListeningPort, expected: type[_P] | None = None
    ) -> Deferred[Any]:
        return self._network().acceptedProtocol(port, expected)

    def whenClosed(self, protocol: IProtocol) -> Deferred[None]:
        return self._network().whenClosed(protocol)

    @overload
    def serverProtocolFor(
        self, client: IProtocol, expected: type[_P]
    ) -> Deferred[_P]: ...

    @overload
    def serverProtocolFor(
        self, client: IProtocol, expected: type[IProtocol] | None = None
    ) -> Deferred[IProtocol]: ...

    def serverProtocolFor(
        self, client: IProtocol, expected: type[_P] | None = None
    ) -> Deferred[Any]:
        return self._network().serverProtocolFor(client, expected)

    @property
    def tlsAuthority(self) -> TLSAuthority:
        return processAuthority()

    @overload
    def track(self, thing: IStreamClientEndpoint) -> IStreamClientEndpoint: ...

    @overload
    def track(self, thing: IStreamServerEndpoint) -> IStreamServerEndpoint: ...

    @overload
    def track(self, thing: _T) -> _T: ...

    def track(self, thing: object) -> object:
        return self._network().track(thing)

    def link(self, target: IListeningPort, seed: int | None = None) -> Link:
        return self._network().link(target, seed)

    def datagramLink(
        self, target: IListeningPort, seed: int | None = None
    ) -> DatagramLink:
        return self._network().datagramLink(target, seed)


class _CaseNetwork(Network):
    """
    A test's network, which registers its teardown as a cleanup at the first
    thing the code under test opens.
    """

    def __init__(self, whenOpened: Callable[[], None], **options: Any) -> None:
        super().__init__(**options)
        self._whenOpened = whenOpened
        # Its teardown runs after the test method: what still awaits a
        # server end then is a test that trial timed out.
        self._registry.pairing.dropAwaited = True

    def _closed(self, result: _T) -> _T:
        # Observing goes on until the test's run ends (see
        # NetworkTestCase.run); what the code under test opens after the
        # teardown is declined, and found by the untracked scan.
        return result

    def observedPort(self, port: Any, origin: Origin) -> None:
        self._whenOpened()
        super().observedPort(port, origin)

    def observedConnector(self, connector: Any, origin: Origin) -> None:
        self._whenOpened()
        super().observedConnector(connector, origin)


async def _nothing() -> None:
    pass


def _nothingToDo() -> None:
    pass


def _after(step: Deferred[None], outcome: object) -> Deferred[Any]:
    """
    Wait for C{step}, then give back C{outcome} (a failure of the step
    before it still fails the test); a failure of C{step} itself comes
    first.
    """

    def done(stepOutcome: object) -> object:
        if isinstance(stepOutcome, Failure):
            if isinstance(outcome, Failure):
                # Both failed: report the earlier failure too.
                from twisted.python import log

                log.err(outcome)
            return stepOutcome
        return outcome

    return step.addBoth(done)
