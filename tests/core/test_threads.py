"""
Threads a test started and left alive after a short grace when its teardown
ended are named with their stack: a warning, or under strict cleanup a
failure.  Threads alive before the test, the reactor's idle pool workers and
threads that end within the grace are never named.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.threads import deferToThread
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from trialnet import LeftThreadWarning, Network, NetworkTestCase
from trialnet._core import _threads
from trialnet._core._threads import THREADS_STEP, Threads, checkThreads

from ..helpers import assertPassed, sample, teardownError
from ..sockets.test_observedFixture import ROOT, runPytest

#: The pytest samples of threads left behind.
LEFT_THREADS = os.path.join(ROOT, "tests", "pytest_samples", "left_threads.py")


def blockedUntilSet(release: threading.Event) -> None:
    """
    The target of a thread left behind: it waits until the outer test sets
    C{release}.
    """
    release.wait(30)


@contextmanager
def leftThread(name: str) -> Iterator[Callable[[], threading.Thread]]:
    """
    Give a function that starts a thread called C{name}, blocked until this
    context ends; then release it and wait for it to end, so that nothing
    leaks into later tests.
    """
    release = threading.Event()
    started: list[threading.Thread] = []

    def start() -> threading.Thread:
        thread = threading.Thread(
            target=blockedUntilSet, args=(release,), name=name, daemon=True
        )
        thread.start()
        started.append(thread)
        return thread

    try:
        yield start
    finally:
        release.set()
        for thread in started:
            thread.join(10)


def warningsOf(run: Callable[[], TestResult]) -> tuple[TestResult, list[str]]:
    """
    Run a sample and collect the texts of the L{LeftThreadWarning}s it
    emitted.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run()
    texts = [
        str(warning.message)
        for warning in caught
        if issubclass(warning.category, LeftThreadWarning)
    ]
    return result, texts


class LeftThreadTests(SynchronousTestCase):
    """
    A L{NetworkTestCase} names the threads its test left running.
    """

    def test_warningNamesThreadAndStack(self) -> None:
        """
        A thread the test started and left blocked passes the test, with a
        L{LeftThreadWarning} naming the thread and a line of its target.
        """
        with leftThread("trialnet-left-warned") as start:
            result, texts = warningsOf(lambda: sample(lambda case: start()))
        assertPassed(self, result)
        (text,) = texts
        self.assertIn("'trialnet-left-warned'", text)
        self.assertIn("in blockedUntilSet", text)
        self.assertIn("release.wait(30)", text)

    def test_strictFailsNamingThread(self) -> None:
        """
        Under strict cleanup, the thread fails the test with a
        L{TeardownError} whose leftover is the thread, with its stack.
        """
        with leftThread("trialnet-left-strict") as start:
            result, texts = warningsOf(
                lambda: sample(lambda case: start(), strictCleanup=True)
            )
        self.assertEqual(texts, [])
        error = teardownError(result)
        self.assertEqual(error.step, THREADS_STEP)
        (leftover,) = error.leftovers
        self.assertEqual(leftover.role, "thread")
        self.assertIn("'trialnet-left-strict'", leftover.kind)
        self.assertIn("in blockedUntilSet", str(error))
        self.assertIn("still alive", str(error))

    def test_alsoWithSockets(self) -> None:
        """
        A test that opened a port and left a thread is named the same way,
        after its sockets closed.
        """

        def body(case: NetworkTestCase) -> None:
            from twisted.internet.protocol import Factory, Protocol

            case.listen(Factory.forProtocol(Protocol))
            start()

        with leftThread("trialnet-left-with-port") as start:
            result, texts = warningsOf(lambda: sample(body))
        assertPassed(self, result)
        (text,) = texts
        self.assertIn("'trialnet-left-with-port'", text)

    def test_threadEndingWithinGrace(self) -> None:
        """
        A thread that ends shortly after the test is not named.
        """
        release = threading.Event()

        def body(case: NetworkTestCase) -> None:
            threading.Thread(target=blockedUntilSet, args=(release,)).start()
            # Released a tenth of a second into the grace.
            threading.Timer(0.1, release.set).start()

        result, texts = warningsOf(lambda: sample(body, strictCleanup=True))
        assertPassed(self, result)
        self.assertEqual(texts, [])

    def test_threadStartedBeforeTest(self) -> None:
        """
        A thread alive before the test began is never named.
        """
        with leftThread("trialnet-before") as start:
            start()
            result, texts = warningsOf(
                lambda: sample(lambda case: None, strictCleanup=True)
            )
        assertPassed(self, result)
        self.assertEqual(texts, [])

    def test_deferToThreadIdle(self) -> None:
        """
        The reactor's thread pool's workers, idle once the test's
        C{deferToThread} is done, are never named.
        """

        def body(case: NetworkTestCase) -> Deferred[int]:
            return deferToThread(lambda: 7)

        result, texts = warningsOf(lambda: sample(body, strictCleanup=True))
        assertPassed(self, result)
        self.assertEqual(texts, [])

    def test_busyPoolWorker(self) -> None:
        """
        A worker of the reactor's pool still running the test's job after
        the grace is named, with the job's stack.
        """
        release = threading.Event()

        def body(case: NetworkTestCase) -> Deferred[None]:
            from twisted.internet import reactor as globalReactor  # noqa: N812

            reactor = cast(IReactorThreads, globalReactor)

            running: Deferred[None] = Deferred()

            def job() -> None:
                reactor.callFromThread(running.callback, None)
                blockedUntilSet(release)

            reactor.callInThread(job)
            return running

        # Released after the grace, before trial stops the pool after the
        # sample (stopping it joins its workers).
        releasing = threading.Timer(1.5, release.set)
        releasing.start()
        try:
            result, _ = warningsOf(lambda: sample(body, strictCleanup=True))
        finally:
            releasing.join()
        error = teardownError(result)
        self.assertIn("in blockedUntilSet", str(error))

    def test_asyncioDefaultExecutor(self) -> None:
        """
        On the asyncio reactor, the threads of the loop's default executor
        are never named.
        """
        from twisted.internet import reactor

        loop = getattr(reactor, "_asyncioEventloop", None)
        if loop is None:
            raise SkipTest("only the asyncio reactor has an asyncio loop")

        def body(case: NetworkTestCase) -> Deferred[int]:
            return Deferred.fromFuture(loop.run_in_executor(None, lambda: 7))

        result, texts = warningsOf(lambda: sample(body, strictCleanup=True))
        assertPassed(self, result)
        self.assertEqual(texts, [])

    def test_withoutThreadingTable(self) -> None:
        """
        Where C{threading} keeps no table of its threads (another Python),
        the threads are found through C{threading.enumerate()}.
        """
        from twisted.internet import reactor

        threads = Threads()
        with leftThread("trialnet-no-table") as start:
            thread = start()
            withoutTable = SimpleNamespace(
                enumerate=threading.enumerate,
                _DummyThread=threading._DummyThread,
            )
            self.patch(_threads, "threading", withoutTable)
            self.assertEqual(threads.started(reactor), [thread])
            self.assertEqual(Threads().started(reactor), [])

    def test_noThreadNoGrace(self) -> None:
        """
        With no new thread alive, the check is done at once, with no timer.
        """
        from twisted.internet import reactor

        self.assertIsNone(checkThreads(Threads(), reactor, strict=True))


class NetworkThreadTests(TestCase):
    """
    A plain L{Network}'s teardown names the threads started since its
    making.
    """

    async def test_closeWarns(self) -> None:
        """
        A thread started after the network's making and left running is
        named by a warning when it closes.
        """
        network = Network()
        with leftThread("trialnet-network-left") as start:
            start()
            await network.close()
        (warning,) = self.flushWarnings([checkThreads])
        self.assertIs(warning["category"], LeftThreadWarning)
        self.assertIn("'trialnet-network-left'", warning["message"])

    async def test_closeStrictFails(self) -> None:
        """
        Under strict cleanup, the network's C{close()} fails naming it.
        """
        network = Network(strictCleanup=True)
        with leftThread("trialnet-network-strict") as start:
            start()
            with self.assertRaises(Exception) as raised:
                await network.close()
        self.assertIn("'trialnet-network-strict'", str(raised.exception))


class PytestThreadTests(SynchronousTestCase):
    """
    The C{network} fixture names a thread left behind, too.
    """

    def test_fixture(self) -> None:
        """
        A thread left running warns by default and fails the test's teardown
        under strict cleanup, on both of pytest-twisted's reactors.
        """
        for reactor in ("default", "asyncio"):
            outcomes, _, output = runPytest(reactor, samples=LEFT_THREADS)
            self.assertEqual(outcomes.get("test_leftWarns"), ["passed"], output)
            self.assertIn("LeftThreadWarning", output)
            self.assertIn("'sample-left-warned'", output)
            strict = " ".join(outcomes.get("test_leftStrict", []))
            self.assertIn("error: failed on teardown", strict, output)
            self.assertIn("'sample-left-strict'", strict, output)
            self.assertEqual(outcomes.get("test_released"), ["passed"], output)
