"""
trialnet's bound and trial's own timeout: the teardown always ends inside
the test's timeout, with its report, whatever the test did; and the test's
C{timeout}, C{skip} and C{todo}, found as trial finds them (on the test
method, the test, its class, its module) by a lookup that does not make and
throw away an C{AttributeError} for each place it misses, with trial's own
methods, called on the same test, as the oracle.
"""

from __future__ import annotations

import sys
import time
import unittest
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from twisted.internet.defer import Deferred, TimeoutError
from twisted.trial import util
from twisted.trial.unittest import SynchronousTestCase, TestCase

from trialnet import NetworkTestCase, TeardownError

from .helpers import (
    Events,
    LoggingFactory,
    Stuck,
    errorTypes,
    lostCounts,
    openFiles,
    openPair,
    recorders,
    runSample,
    sample,
    teardownError,
    warmUp,
)


class TimeoutTests(SynchronousTestCase):
    """
    Tests whose trial C{timeout} is short, or that time out.
    """

    def test_shorterThanDisconnectTimeout(self) -> None:
        """
        When the test's C{timeout} is shorter than C{disconnectTimeout}, the
        teardown shortens its bound to fit: stuck ends are aborted and
        reported once, trial reports no timeout, and nothing stays open.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Stuck)
        clientFactory = LoggingFactory(events, "client", Stuck)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)

        warmUp()
        before = openFiles()
        started = time.monotonic()
        result = sample(body, timeout=2.0, disconnectTimeout=30.0)
        elapsed = time.monotonic() - started

        self.assertEqual(errorTypes(result), [TeardownError])
        self.assertEqual(len(teardownError(result).leftovers), 2)
        self.assertLess(elapsed, 2.0)
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(openFiles() - before, set())

    def test_testTimesOut(self) -> None:
        """
        A test that trial times out while its connections are open is
        reported as timed out, and the teardown still closes both ends.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)

        async def body(case: NetworkTestCase) -> None:
            await openPair(case, serverFactory, clientFactory)
            await Deferred()

        warmUp()
        before = openFiles()
        result = sample(body, timeout=0.5)

        self.assertEqual(errorTypes(result), [TimeoutError])
        self.assertEqual(lostCounts(events), (1, 1))
        self.assertEqual(openFiles() - before, set())


@contextmanager
def inModule(
    name: str, **namespace: Any
) -> Iterator[Callable[[type[NetworkTestCase]], type[NetworkTestCase]]]:
    """
    A module C{name} holding C{namespace}, in C{sys.modules} for the block;
    what the block is given moves a test class into it.
    """
    module = ModuleType(name)
    vars(module).update(namespace)
    sys.modules[name] = module

    def moved(case: type[NetworkTestCase]) -> type[NetworkTestCase]:
        case.__module__ = name
        return case

    try:
        yield moved
    finally:
        del sys.modules[name]


def asTrialFinds(case: NetworkTestCase) -> tuple[object, ...]:
    """
    What trial's own methods find for C{case}.
    """
    return (
        TestCase.getTimeout(case),
        TestCase.getSkip(case),
        TestCase.getTodo(case),
    )


def asFound(case: NetworkTestCase) -> tuple[object, ...]:
    """
    What the test case's own methods find.
    """
    return (case.getTimeout(), case.getSkip(), case.getTodo())


class LookupTests(SynchronousTestCase):
    """
    The test's own C{getTimeout}, C{getSkip} and C{getTodo} against trial's.
    """

    def assertAsTrial(
        self, case: NetworkTestCase, expected: tuple[object, ...]
    ) -> None:
        """
        C{case}'s methods find what trial's find, and that is C{expected}
        (compared by the timeout, the skip, and the todo's reason).
        """
        found, trials = asFound(case), asTrialFinds(case)
        self.assertEqual(found[:2], trials[:2])
        self.assertEqual(
            getattr(found[2], "reason", found[2]),
            getattr(trials[2], "reason", trials[2]),
        )
        self.assertEqual((*found[:2], getattr(found[2], "reason", found[2])), expected)

    def test_nothingSet(self) -> None:
        """
        With nothing set, trial's default timeout, no skip and no todo.
        """

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                pass

        self.assertAsTrial(
            Sample("test_it"),
            (float(util.DEFAULT_TIMEOUT_DURATION), (False, None), None),
        )

    def test_onTheMethod(self) -> None:
        """
        Attributes of the test method are found first.
        """

        class Sample(NetworkTestCase):
            timeout = 7

            def test_it(self) -> None:
                pass

            test_it.timeout = 3  # type: ignore[attr-defined]
            test_it.skip = "not here"  # type: ignore[attr-defined]
            test_it.todo = "later"  # type: ignore[attr-defined]

        self.assertAsTrial(Sample("test_it"), (3.0, (True, "not here"), "later"))

    def test_onTheTestAndItsClasses(self) -> None:
        """
        Attributes of the test, its class or a base class are found next.
        """

        class Base(NetworkTestCase):
            skip = "the base says so"

        class Sample(Base):
            def test_it(self) -> None:
                pass

        case = Sample("test_it")
        case.timeout = 11  # type: ignore[attr-defined]
        self.assertAsTrial(case, (11.0, (True, "the base says so"), None))

    def test_onTheModule(self) -> None:
        """
        Attributes of the test's module are found last; a module's
        C{__getattr__} is asked too.
        """

        def moduleGetattr(name: str) -> object:
            if name == "todo":
                return "the module's hook"
            raise AttributeError(name)

        with inModule("sample_lookup", timeout=13, __getattr__=moduleGetattr) as move:

            @move
            class Sample(NetworkTestCase):
                def test_it(self) -> None:
                    pass

            self.assertAsTrial(
                Sample("test_it"), (13.0, (False, None), "the module's hook")
            )

    def test_timeoutOnlyOnTheModule(self) -> None:
        """
        A timeout set on the test's module alone, with no C{__getattr__}
        there, is found.
        """
        self.assertFoundInModule((13.0, (False, None), None), timeout=13)

    def test_timeoutFromModuleGetattr(self) -> None:
        """
        A timeout that only the module's C{__getattr__} gives is found.
        """

        def moduleGetattr(name: str) -> object:
            if name == "timeout":
                return 17
            raise AttributeError(name)

        self.assertFoundInModule((17.0, (False, None), None), __getattr__=moduleGetattr)

    def assertFoundInModule(
        self, expected: tuple[float, tuple[bool, str | None], object], **names: Any
    ) -> None:
        """
        A test of a module holding C{names} gets C{expected} from its
        lookups, as trial's own.
        """
        with inModule("sample_lookup", **names) as move:

            @move
            class Sample(NetworkTestCase):
                def test_it(self) -> None:
                    pass

            self.assertAsTrial(Sample("test_it"), expected)

    def test_unittestSkipAndABadTimeout(self) -> None:
        """
        The standard library's C{unittest.skip} of the class is honoured,
        and a timeout that is not a number gives trial's default, with
        trial's warning.
        """

        @unittest.skip("the standard library's skip")
        class Sample(NetworkTestCase):
            timeout = "orange"

            def test_it(self) -> None:
                pass

        case = Sample("test_it")
        self.assertAsTrial(
            case,
            (
                float(util.DEFAULT_TIMEOUT_DURATION),
                (True, "the standard library's skip"),
                None,
            ),
        )
        self.assertEqual(
            [w["category"] for w in self.flushWarnings()], [DeprecationWarning] * 2
        )

    def test_notAFunction(self) -> None:
        """
        A test method that is not a plain function (a callable object) is
        asked as trial asks it.
        """

        class CallableTest:
            timeout = 5

            def __call__(self, case: object) -> None:
                pass

            def __get__(self, case: object, owner: object) -> Any:
                return self

        class Sample(NetworkTestCase):
            test_it = CallableTest()

        self.assertAsTrial(Sample("test_it"), (5.0, (False, None), None))

    def test_aSkippedSampleIsSkipped(self) -> None:
        """
        A sample whose class says C{skip} is reported skipped by trial, and
        one whose method says C{todo} and fails is an expected failure.
        """

        class Skipped(NetworkTestCase):
            skip = "skipped on purpose"

            def test_it(self) -> None:
                raise AssertionError("ran")

        class Todo(NetworkTestCase):
            def test_it(self) -> None:
                raise AssertionError("fails, as expected")

            test_it.todo = "not yet"  # type: ignore[attr-defined]

        skipped, todo = runSample(Skipped), runSample(Todo)
        self.assertEqual(
            [reason for _, reason in skipped.skips], ["skipped on purpose"]
        )
        self.assertEqual(
            (len(todo.expectedFailures), todo.errors, todo.failures), (1, [], [])
        )
