# -*- test-case-name: tests.sockets.test_closing,tests.test_timeouts -*-
"""
L{NetworkTestCase}: a trial test case with a L{Network} per test.
"""

from __future__ import annotations

import inspect
import sys
from types import FunctionType, MethodType, ModuleType
from typing import Any

import twisted.internet
from twisted.trial import util
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from ._core._defaults import (
    DISCONNECT_TIMEOUT,
    PROCESS_TIMEOUT,
    VIRTUAL_TIME_BUDGET,
    VIRTUAL_TIME_STALL,
)
from ._core._lifecycle import RunState
from ._front import NetworkAPI, NetworkParts
from ._interfaces import INetwork
from ._run import TestRun

# Read once: a member read through its enum class costs a lookup through
# the metaclass's attribute hook (Python 3.11), at every listen and connect.
_REGISTERED = RunState.REGISTERED


@implementer(INetwork)
class NetworkTestCase(NetworkAPI, TestCase):
    """
    A trial L{TestCase<twisted.trial.unittest.TestCase>} whose ports and
    connections close by themselves; see
    L{INetwork<trialnet.INetwork>} for each method.

    From before C{setUp} until the test's run ends, it observes the reactor.
    At the first thing opened (by the test or by the code under test) it
    makes this test's L{Network} and registers L{Network.close} with
    C{addCleanup}: the teardown runs even when C{setUp} fails, after the
    cleanups the test adds from then on, and before C{tearDown}.  A test
    that opens nothing makes no network.  What the code under test opens on
    the reactor during the test joins the same teardown.  A teardown that
    had to abort anything fails the test with a L{trialnet.TeardownError}
    naming each leftover.

    A network first used in C{tearDown} (after the cleanups ran) is closed
    after C{tearDown}.  Last, a socket left in the reactor by means trialnet
    cannot see is closed by the same rules (a report names it only if it had
    to be aborted, or under strict cleanup), rather than trial reporting a
    dirty reactor.  Sockets that existed before the test are left alone.

    The waits of a L{trialnet.Recorder} connected or accepted here are
    bounded by a quarter of the test's C{timeout} unless told otherwise, so
    that a stuck wait fails with its own message before trial's timeout.

    @cvar disconnectTimeout: Seconds allowed for an orderly close before the
        teardown aborts what is left; read when the teardown begins, and
        shortened when the test's own C{timeout} is too short for it, so that
        the teardown and its report always finish first.
    @cvar processTimeout: Seconds the processes started during the test
        have to end after SIGTERM, once its connections closed, before the
        teardown sends SIGQUIT, then SIGKILL (see
        L{INetwork.processTimeout<trialnet.INetwork.processTimeout>}); read
        when the teardown begins, and shortened with C{disconnectTimeout}
        when the test's own C{timeout} is too short for both.
    @cvar strictCleanup: Whether what the code under test left open when the
        test ended fails the test, with the line that opened it (see
        L{INetwork.strictCleanup<trialnet.INetwork.strictCleanup>}).
    @cvar virtualTime: Whether the reactor's clock is virtual from before
        C{setUp} until the teardown begins (see
        L{INetwork.virtualTime<trialnet.INetwork.virtualTime>}); read once,
        before C{setUp}.
    @cvar virtualTimeBudget: Virtual seconds a test in virtual time may jump
        in all before it fails as runaway time.
    @cvar virtualTimeStall: Real seconds after the last I/O during which, in
        virtual time, what trialnet cannot see into (a child process, a peer
        in another process) keeps the clock from jumping.
    @cvar failFast: Whether an error logged while a wait is pending fails
        the wait at once (see
        L{INetwork.failFast<trialnet.INetwork.failFast>}).
    """

    disconnectTimeout: float = DISCONNECT_TIMEOUT
    processTimeout: float = PROCESS_TIMEOUT
    strictCleanup: bool = False
    failFast: bool = True
    virtualTime: bool = False
    virtualTimeBudget: float = VIRTUAL_TIME_BUDGET
    virtualTimeStall: float = VIRTUAL_TIME_STALL
    _trialnetRun: TestRun | None = None

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)  # type: ignore[no-untyped-call]
        # Where trial looks for the test's timeout, skip and todo, after the
        # test itself: its method and its module, as trial finds them here.
        # A plain function's and a plain module's namespaces are read
        # directly (see _trialnetSets): the function is kept (whose
        # namespace may be replaced), and the module's namespace, which
        # never is.
        method = getattr(self, methodName)
        module = sys.modules.get(type(self).__module__)
        function = None
        if type(method) is MethodType and type(method.__func__) is FunctionType:
            function = method.__func__
        namespace = vars(module) if type(module) is ModuleType else None
        self._trialnetLookIn = (function, method, namespace, module)

    def _trialnetSets(self, name: str) -> bool:
        """
        Whether trial's lookup of C{name} finds it on the test method, the
        test or its module: the answer of trial's C{hasattr} on each, without
        the C{AttributeError} that one on a bound method or a module makes and
        throws away (about 4,000 instructions, two a lookup, some seven
        lookups a test).  Shaped for speed: what is not a plain function or
        module is asked with C{hasattr}, as trial asks.  Its common case for
        C{timeout} is written out in L{getTimeout} too.
        """
        function, method, namespace, module = self._trialnetLookIn
        if function is not None:
            if name in function.__dict__:
                return True
        elif hasattr(method, name):
            return True
        if hasattr(self, name):
            return True
        if namespace is not None:
            return name in namespace or (
                "__getattr__" in namespace and hasattr(module, name)
            )
        return module is not None and hasattr(module, name)

    def getTimeout(self) -> float:
        """
        The test's timeout, as trial finds it: see
        trial's C{TestCase.getTimeout}.
        """
        # Shaped for speed (trial asks five times a test): _trialnetSets()
        # written out for what nearly every test is, a plain function in a
        # plain module (no __getattr__), none of which sets a timeout.
        function, _, namespace, _ = self._trialnetLookIn
        if (
            function is not None
            and namespace is not None
            and "timeout" not in function.__dict__
            and "timeout" not in namespace
            and "__getattr__" not in namespace
            and not hasattr(self, "timeout")
        ):
            return float(util.DEFAULT_TIMEOUT_DURATION)
        if self._trialnetSets("timeout"):
            return float(super().getTimeout())  # type: ignore[no-untyped-call]
        return float(util.DEFAULT_TIMEOUT_DURATION)

    def getSkip(self) -> tuple[bool, str | None]:
        """
        Whether and why the test is skipped, as trial finds it: see
        trial's C{TestCase.getSkip}.
        """
        if self._trialnetSets("skip") or hasattr(self, "__unittest_skip__"):
            return super().getSkip()
        return (False, None)

    def getTodo(self) -> Any:
        """
        Whether the test is expected to fail, as trial finds it: see
        trial's C{TestCase.getTodo}.
        """
        if self._trialnetSets("todo"):
            return super().getTodo()  # type: ignore[no-untyped-call]
        return None

    def _parts(self) -> NetworkParts:
        run = self._trialnetRun
        if run is not None:
            network = run.network
            if network is not None and run.state is _REGISTERED:
                # TestRun.current() and Network._parts(), written out for
                # what nearly every call finds (the network made, its
                # teardown registered): shaped for speed, two calls fewer
                # at every listen, connect and wait after the first.
                network.failFast = self.failFast
                return network._own
        else:
            # Used outside run(): a run that nobody finishes, whose teardown
            # is still a cleanup.
            from twisted.internet import reactor

            run = self._trialnetRun = TestRun(self, reactor)
        return run.current()._parts()

    def run(self, result: Any) -> None:  # type: ignore[override]
        """
        Run the test as trial does, observing the reactor from before
        C{setUp} to the cleanups, and with this test's network from the
        first thing opened; after C{tearDown} (or, when C{setUp}
        failed and trial runs no C{tearDown}, after the cleanups), close
        every socket left in the reactor by means trialnet cannot see.
        """
        # The reactor as "from twisted.internet import reactor" gives it (the
        # package's attribute), read directly once one is installed: the
        # statement costs the import system's work, about 4,000
        # instructions, for every test.
        reactor = vars(twisted.internet).get("reactor")
        if reactor is None:
            from twisted.internet import reactor

        # The same instance may run again (trial -u): a run of its own.
        run = self._trialnetRun = TestRun(self, reactor)
        # Trial refuses a generator function (a forgotten inlineCallbacks),
        # and must still see it to do so.  The run's own methods take the
        # test's places (bound methods, which trial inspects at once: a
        # partial would cost it a signature check each time).  What the test
        # set on itself is put back afterwards, for its next run.
        instance = vars(self)
        ownSetUp, ownTearDown = instance.get("setUp"), instance.get("tearDown")
        if not _isGeneratorFunction(run.ownSetUp):
            self.setUp = run.setUp  # type: ignore[method-assign, assignment]
        if not _isGeneratorFunction(run.ownTearDown):
            self.tearDown = run.tearDown  # type: ignore[method-assign, assignment]
        try:
            super().run(result)  # type: ignore[no-untyped-call]
        finally:
            # Each of the two names written out, not a loop over a zip
            # (every test).
            if ownSetUp is None:
                instance.pop("setUp", None)
            else:
                instance["setUp"] = ownSetUp
            if ownTearDown is None:
                instance.pop("tearDown", None)
            else:
                instance["tearDown"] = ownTearDown
            run.finish()
            self._trialnetRun = None


def _isGeneratorFunction(method: object) -> bool:
    """
    Whether C{method} is a generator function, as C{inspect} says.

    Shaped for speed (it runs twice for every test): a plain bound method of
    a plain function, what nearly every C{setUp} and C{tearDown} is, is
    read directly; anything else (a partial, a decorated callable) goes to
    C{inspect.isgeneratorfunction}, which unwraps it first.
    """
    if type(method) is MethodType:
        function = method.__func__
        if type(function) is FunctionType:
            return bool(function.__code__.co_flags & inspect.CO_GENERATOR)
    return inspect.isgeneratorfunction(method)
