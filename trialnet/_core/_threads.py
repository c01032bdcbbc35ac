# -*- test-case-name: tests.core.test_threads -*-
"""
Threads a test left behind: those started during the test and still alive,
after a short grace, when its teardown ended.

What is alive when the test begins is never a leftover, nor are the
reactor's thread pool's workers while the pool is idle, asyncio's default
executor's threads, or foreign threads Python only saw call in.  The grace
waits on the reactor's timers, never by sleeping on the reactor's thread.
"""

from __future__ import annotations

import sys
import threading
import traceback
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from ._defaults import THREAD_GRACE
from ._report import Leftover, TeardownError, allocationOrigin

#: Real seconds between two looks while the grace lasts.
THREAD_STEP = 0.05

#: The step of trialnet that names the threads, as a report begins.
THREADS_STEP = (
    "trialnet's last check, after the teardown, of the threads the test "
    "started (not the test's own tearDown failing)"
)

#: The name prefix of asyncio's default executor's threads.
_ASYNCIO_EXECUTOR = "asyncio_"


class LeftThreadWarning(UserWarning):
    """
    A thread started during a test was still alive, after a short grace,
    when the test's teardown ended.  The warning's text names each such
    thread and its current stack; under strict cleanup the test fails with
    a L{trialnet.TeardownError} instead.
    """


class Threads:
    """
    The threads alive when a test began, to tell which ones it left behind.
    """

    def __init__(self) -> None:
        self._before = frozenset(_alive().items())

    def started(self, reactor: Any) -> list[threading.Thread]:
        """
        The threads alive now that were not when the test began and are not
        leftovers by rule (see the module's docstring).  What a test that
        started no thread pays: one set comparison.
        """
        before = self._before
        try:
            if _alive().items() <= before:
                return []
        except RuntimeError:
            # A thread began or ended while the table was compared.
            pass
        # Under threading's lock: the table may change while this looks.
        return [
            thread
            for thread in threading.enumerate()
            if (thread.ident, thread) not in before and not _byRule(thread, reactor)
        ]

    def afterGrace(
        self, reactor: Any, grace: float = THREAD_GRACE
    ) -> Deferred[list[threading.Thread]]:
        """
        Look again every L{THREAD_STEP} seconds, on the reactor's timers,
        until no thread is left or C{grace} seconds passed.

        @return: A L{Deferred} firing with the threads still left then.
        """
        steps = max(1, round(grace / THREAD_STEP))
        step = grace / steps

        async def looking() -> list[threading.Thread]:
            left = self.started(reactor)
            for _ in range(steps):
                if not left:
                    break
                await deferLater(reactor, step, lambda: None)
                left = self.started(reactor)
            return left

        return Deferred.fromCoroutine(looking())


def _alive() -> Mapping[int, threading.Thread]:
    """
    The threads Python knows, by ident.  C{threading}'s own table costs no
    lock and no list, where C{threading.enumerate()} takes both for every
    test: it is private to CPython (and rebound after a fork, so read each
    time), hence the fallback.
    """
    active = getattr(threading, "_active", None)
    if isinstance(active, dict):
        return active
    return {thread.ident or 0: thread for thread in threading.enumerate()}


def _byRule(thread: threading.Thread, reactor: Any) -> bool:
    """
    Whether C{thread} is never a leftover: a foreign thread, one of
    asyncio's default executor, or a worker of the reactor's thread pool
    while the pool runs no job.
    """
    if isinstance(thread, threading._DummyThread):
        return True
    if thread.name.startswith(_ASYNCIO_EXECUTOR):
        return True
    loop = getattr(reactor, "_asyncioEventloop", None)
    executor = getattr(loop, "_default_executor", None)
    if thread in getattr(executor, "_threads", ()):
        return True
    pool = getattr(reactor, "threadpool", None)
    if pool is not None and thread in pool.threads:
        # Which worker runs the job, the pool does not say: while one does,
        # every worker the test started is named, each with its stack.
        return not pool.working
    return False


def threadLeftover(thread: threading.Thread, waited: float) -> Leftover:
    """
    Describe a thread left alive: its name, where it was made (when
    C{tracemalloc} traced it) and its current stack.
    """
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        stack = "    (its stack is gone: it just ended)"
    else:
        stack = "".join(traceback.format_stack(frame)).rstrip()
    daemon = "daemon, " if thread.daemon else ""
    return Leftover(
        role="thread",
        kind=f"{thread.name!r} ({daemon}ident {thread.ident})",
        origin=allocationOrigin(thread),
        action=(
            f"still alive {waited:.2f}s after the teardown ended; left "
            f"running. Its stack, innermost last:\n{stack}"
        ),
    )


def reportThreads(
    threads: Iterable[threading.Thread], waited: float, strict: bool
) -> Failure | None:
    """
    Name the threads left behind: a warning, or, under strict cleanup, a
    failure with a L{TeardownError}.

    @return: That failure, or C{None}.
    """
    leftovers = [threadLeftover(thread, waited) for thread in threads]
    if not leftovers:
        return None
    error = TeardownError(leftovers, waited, THREADS_STEP)
    if strict:
        return Failure(error)
    warnings.warn(_warningText(leftovers), LeftThreadWarning, stacklevel=2)
    return None


def _warningText(leftovers: Sequence[Leftover]) -> str:
    count = len(leftovers)
    threads = "1 thread" if count == 1 else f"{count} threads"
    lines = [f"trialnet: {threads} started during the test still alive:"]
    lines.extend(f"  - {leftover}" for leftover in leftovers)
    return "\n".join(lines)


def checkThreads(
    threads: Threads, reactor: Any, strict: bool, grace: float = THREAD_GRACE
) -> Deferred[None] | None:
    """
    The check at the end of a teardown: nothing at all when no thread the
    test started is alive; otherwise the grace, then the report.

    @return: C{None} when nothing is left at once, else a L{Deferred} that
        fires after the grace, failing with a L{TeardownError} under strict
        cleanup when a thread is still alive.
    """
    if not threads.started(reactor):
        return None
    began = reactor.seconds()

    def report(left: list[threading.Thread]) -> Failure | None:
        return reportThreads(left, reactor.seconds() - began, strict)

    return threads.afterGrace(reactor, grace).addCallback(report)
