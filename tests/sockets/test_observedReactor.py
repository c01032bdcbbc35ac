"""
Observing the reactor, around a test: a test's network is made at the first
thing opened, by the test or by the code under test, and the run hands it
what it observed; once the test is over, the reactor is exactly as it was.
"""

# ruff: noqa: N999

from __future__ import annotations

import gc
import inspect
import weakref
from typing import Any

from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network, NetworkTestCase, TeardownError, _run
from trialnet._sockets import _observe

from ..helpers import (
    Events,
    LoggingFactory,
    assertPassed,
    errorTypes,
    portNumber,
    refuses,
    runSample,
    sample,
    warmUp,
)
from .test_observed import OPENERS, plainFactory, runObserved


class TestRunNetworkTests(SynchronousTestCase):
    """
    A test's network is made at the first thing opened, by the test or by
    the code under test, and the run hands it what it observed.
    """

    def countNetworks(self) -> list[object]:
        """
        Count the networks test runs make from now on.
        """
        made: list[object] = []

        class Counting(_run._CaseNetwork):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                made.append(self)
                super().__init__(*args, **kwargs)

        self.patch(_run, "_CaseNetwork", Counting)
        return made

    def test_nothingOpened(self) -> None:
        """
        A test that opens nothing makes no network, and passes.
        """
        made = self.countNetworks()

        async def body(case: NetworkTestCase) -> None:
            pass

        assertPassed(self, sample(body))
        self.assertEqual(made, [])

    def test_openedInSetUpByCodeUnderTest(self) -> None:
        """
        A port the code under test opens in C{setUp}, before the test opened
        anything through trialnet, makes the test's one network and joins
        its teardown: the test passes and the port is closed after it.
        """
        made = self.countNetworks()
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                from twisted.internet import reactor

                port = reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
                numbers.append(portNumber(port))

            async def test_it(self) -> None:
                port = self.listen(plainFactory())
                await self.connect(port, Protocol())

        assertPassed(self, runSample(Sample))
        self.assertEqual(len(made), 1)
        self.assertTrue(refuses(numbers[0]))

    def test_innerNetworkMadeFirst(self) -> None:
        """
        A L{Network} the test makes before its first C{listen()} stays the
        innermost: what the code under test opens while it is open is its,
        and a strict one reports it.
        """
        leftovers: list[TeardownError] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            inner = Network(strictCleanup=True)
            case.listen(plainFactory())
            reactor.listenTCP(0, plainFactory(), interface="127.0.0.1")
            try:
                await inner.close()
            except TeardownError as error:
                leftovers.append(error)

        assertPassed(self, sample(body))
        (error,) = leftovers
        self.assertEqual(len(error.leftovers), 1)


class DelegatingWithoutWeakrefs:
    """
    A reactor in front of another: every attribute it lacks is the other's.
    It cannot be referenced weakly.
    """

    __slots__ = ("__dict__", "_behind")

    def __init__(self, behind: object) -> None:
        self._behind = behind

    def __getattr__(self, name: str) -> Any:
        return getattr(self._behind, name)


class Delegating(DelegatingWithoutWeakrefs):
    """
    A L{DelegatingWithoutWeakrefs} that can be referenced weakly.
    """

    __slots__ = ("__weakref__",)


class ReactorRestoredTests(SynchronousTestCase):
    """
    Observing the reactor's methods leaves no trace once a test is over.
    """

    def assertRestored(self, names: set[str], methods: dict[str, object]) -> None:
        """
        Assert the reactor's instance attributes are the C{names} it had, and
        each opening method is the reactor's own, as before.
        """
        from twisted.internet import reactor

        self.assertEqual(set(vars(reactor)), names)
        for name in OPENERS:
            self.assertNotIn(name, vars(reactor))
            function = getattr(reactor, name).__func__
            self.assertIs(function, methods[name], name)
            self.assertTrue(function.__module__.startswith("twisted."), name)

    def snapshot(self) -> tuple[set[str], dict[str, object]]:
        """
        The reactor's instance attribute names, and its opening methods'
        functions, once a first run of it set what trial's runs of it set.
        """
        from twisted.internet import reactor

        warmUp()

        methods = {name: getattr(reactor, name).__func__ for name in OPENERS}
        return set(vars(reactor)), methods

    def test_afterSample(self) -> None:
        """
        After a sample that listened and connected through trialnet and
        through the reactor, passing or failing, the reactor's opening
        methods are its own again and it has no new instance attribute.
        """
        events = Events()
        names, methods = self.snapshot()

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(LoggingFactory(events, "server"))
            await case.connect(port, LoggingFactory(events, "client"))
            reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")  # type: ignore[attr-defined]

        assertPassed(self, sample(body))
        self.assertRestored(names, methods)

        def failing(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            raise RuntimeError("the body broke")

        self.assertEqual(errorTypes(sample(failing)), [RuntimeError])
        self.assertRestored(names, methods)

    def test_wrappersUnwrapToTheReactors(self) -> None:
        """
        While a test runs, each observed opening method unwraps to the
        reactor's own (so that C{inspect.signature} and C{inspect.unwrap}
        show it, not trialnet's wrapper); after the test, the wrapper holds
        on to nothing.
        """
        names, methods = self.snapshot()
        seen: dict[str, Any] = {}

        def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            for name in OPENERS:
                wrapper = getattr(reactor, name)
                seen[name] = wrapper
                self.assertIs(inspect.unwrap(wrapper).__func__, methods[name], name)
                self.assertEqual(
                    inspect.signature(wrapper),
                    inspect.signature(getattr(type(reactor), name).__get__(reactor)),
                    name,
                )

        assertPassed(self, sample(body))
        self.assertEqual(set(seen), set(OPENERS))
        for name, wrapper in seen.items():
            # trialnet's wrapper, not the reactor's bound method.
            self.assertFalse(inspect.ismethod(wrapper), name)
            self.assertFalse(hasattr(wrapper, "__wrapped__"), name)
        self.assertRestored(names, methods)

    def test_patchedInSetUp(self) -> None:
        """
        A test that patches the reactor's C{connectTCP} with trial's
        C{self.patch} in C{setUp} (whose cleanup puts back what it found,
        the observer's method) leaves the reactor exactly as before.
        """
        names, methods = self.snapshot()
        calls: list[object] = []

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                from twisted.internet import reactor

                connect = reactor.connectTCP

                def counting(*args: Any, **kwargs: Any) -> Any:
                    calls.append(args)
                    return connect(*args, **kwargs)

                self.patch(reactor, "connectTCP", counting)

            async def test_it(self) -> None:
                port = self.listen(LoggingFactory(Events(), "server"))
                await self.connect(port, Protocol())

        result = runSample(Sample)

        assertPassed(self, result)
        self.assertEqual(len(calls), 1)
        self.assertRestored(names, methods)

    def test_networkInsideCase(self) -> None:
        """
        A L{Network} made and closed inside a sample's body leaves the test
        case's own observation in place (a port the code under test opens
        afterwards still joins the test's teardown), and after the sample
        the reactor is exactly as before.
        """
        events = Events()
        names, methods = self.snapshot()
        numbers: list[int] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            case.listen(LoggingFactory(events, "server"))
            network = Network()
            inner = network.listen(LoggingFactory(events, "server"))
            numbers.append(portNumber(inner))
            reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            await network.close()
            later = reactor.listenTCP(
                0, LoggingFactory(events, "server"), interface="127.0.0.1"
            )
            numbers.append(portNumber(later))

        runObserved(self, body)
        self.assertRestored(names, methods)
        self.assertEqual([refuses(number) for number in numbers], [True, True])

    def test_reactorNotKept(self) -> None:
        """
        A reactor a network observed, and that nobody else holds, is freed
        once the network closed: the observer kept between tests holds it
        weakly.
        """
        reactor = MemoryReactorClock()
        network = Network(reactor=reactor)
        network.listen(Factory.forProtocol(Protocol))
        self.successResultOf(network.close())
        network._stopObserving()
        freed = weakref.ref(reactor)
        del reactor, network
        gc.collect()
        self.assertIsNone(freed())

    def test_delegatingReactor(self) -> None:
        """
        A reactor whose opening methods come from C{__getattr__} (a proxy in
        front of another reactor), with or without weak references, is
        observed: what the code under test opens on it reaches the reactor
        behind it, and the network is told of it.
        """
        for proxy in (Delegating, DelegatingWithoutWeakrefs):
            reactor = MemoryReactorClock()
            front = proxy(reactor)
            network = Network(reactor=front, strictCleanup=True)
            front.listenTCP(0, Factory.forProtocol(Protocol))
            self.assertEqual(len(reactor.tcpServers), 1, proxy)
            self.failureResultOf(network.close(), TeardownError)
            network._stopObserving()
            self.assertNotIn("listenTCP", vars(front))
            if proxy is DelegatingWithoutWeakrefs:
                # Held strongly while observed: not kept after.
                self.assertNotIn(id(front), _observe._observers)

    def test_patchedOverThenPutBack(self) -> None:
        """
        When someone patches over the observer's wrapper, and puts it back
        only after the network stopped observing, the wrapper still calls
        what was under it (here, a patch of the test's): nothing is skipped.
        """
        reactor = MemoryReactorClock()
        calls: list[object] = []
        own = reactor.listenTCP

        def earlier(*args: Any, **kwargs: Any) -> Any:
            calls.append("earlier")
            return own(*args, **kwargs)

        vars(reactor)["listenTCP"] = earlier
        network = Network(reactor=reactor)
        wrapper = vars(reactor)["listenTCP"]
        vars(reactor)["listenTCP"] = lambda *a, **k: wrapper(*a, **k)
        network._stopObserving()
        vars(reactor)["listenTCP"] = wrapper
        reactor.listenTCP(0, Factory.forProtocol(Protocol))
        self.assertEqual(calls, ["earlier"])
        self.assertEqual(len(reactor.tcpServers), 1)

    def test_patchedOverForGood(self) -> None:
        """
        A patch over the observer's wrapper that is never undone is what the
        next network's wrapper calls, and it calls the old wrapper, which
        calls the reactor: the port opens once, with no recursion, and the
        next network is told of it.
        """
        reactor = MemoryReactorClock()
        first = Network(reactor=reactor)
        wrapper = vars(reactor)["listenTCP"]
        vars(reactor)["listenTCP"] = lambda *a, **k: wrapper(*a, **k)
        first._stopObserving()
        second = Network(reactor=reactor, strictCleanup=True)
        reactor.listenTCP(0, Factory.forProtocol(Protocol))
        self.assertEqual(len(reactor.tcpServers), 1)
        self.failureResultOf(second.close(), TeardownError)
        second._stopObserving()

    def test_wrapperPutBackLate(self) -> None:
        """
        A wrapper of the observer's that someone put back on the reactor
        after the last network stopped observing is not taken for the
        reactor's own method at the next observation: the port opens once,
        the network is told of it (a strict one reports it left open), and
        the wrapper goes at the end.
        """
        reactor = MemoryReactorClock()
        first = Network(reactor=reactor)
        wrapper = reactor.listenTCP
        first._stopObserving()
        reactor.listenTCP = wrapper  # type: ignore[method-assign]
        second = Network(reactor=reactor, strictCleanup=True)
        reactor.listenTCP(0, Factory.forProtocol(Protocol))
        self.assertEqual(len(reactor.tcpServers), 1)
        # Told of the port, the strict network reports it left open.
        self.failureResultOf(second.close(), TeardownError)
        second._stopObserving()
        self.assertNotIn("listenTCP", vars(reactor))

    def test_stalePutBackKeepsQuiet(self) -> None:
        """
        A stale wrapper of the observer's, put back by a patch's restore
        after the network stopped observing, under the next network's
        wrapper: what trialnet opens for itself (quietly) is still no
        observed leftover, so a strict network's close passes.
        """
        reactor = MemoryReactorClock()
        first = Network(reactor=reactor)
        wrapper = vars(reactor)["listenTCP"]
        vars(reactor)["listenTCP"] = lambda *a, **k: wrapper(*a, **k)
        first._stopObserving()
        vars(reactor)["listenTCP"] = wrapper
        second = Network(reactor=reactor, strictCleanup=True)
        self.assertIsNot(vars(reactor)["listenTCP"], wrapper)
        with _observe.quietly(reactor):
            reactor.listenTCP(0, Factory.forProtocol(Protocol))
        self.assertEqual(len(reactor.tcpServers), 1)
        self.successResultOf(second.close())
        second._stopObserving()

    def test_instanceMethodKept(self) -> None:
        """
        A reactor whose instance has an opening method of its own (a test's
        patch made before the network) has it called while observed, and
        has exactly it back afterwards, with none of the other wrappers
        left on the instance; observed again, the same holds.
        """
        reactor = MemoryReactorClock()
        calls: list[object] = []
        own = reactor.listenTCP

        def patched(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return own(*args, **kwargs)

        vars(reactor)["listenTCP"] = patched
        names = set(vars(reactor))
        for _ in range(2):
            network = Network(reactor=reactor, strictCleanup=True)
            self.assertIsNot(vars(reactor)["listenTCP"], patched)
            reactor.listenTCP(1234, plainFactory())
            self.failureResultOf(network.close(), TeardownError)
            network._stopObserving()
            self.assertIs(vars(reactor)["listenTCP"], patched)
            self.assertEqual(set(vars(reactor)), names)
        self.assertEqual(len(calls), 2)
