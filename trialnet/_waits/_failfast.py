# -*- test-case-name: tests.waits.test_failfast -*-
"""
Waits that fail at once when an error is logged: when a protocol raises (in
C{dataReceived}, C{connectionMade}, ...), the reactor logs the error and
drops the connection, and a test waiting for the other side's answer would
otherwise wait until its bound and fail with a timeout that hides the cause.

An error is what trial counts as one: a logged event with C{isError} and a
C{failure}, so a wait fails fast exactly when trial would fail the test for
the same error anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python import log
from twisted.python.failure import Failure

#: Each pending wait: what fails it, and the clock it is failed on.
_watched: dict[Watch, tuple[Callable[[Failure], None], Any]] = {}


class Watch:
    """
    One wait that fails when an error is logged, until L{stop}.

    @ivar owner: Who made it, for L{stopWatching}.
    """

    def __init__(
        self, fail: Callable[[Failure], None], clock: Any, owner: object = None
    ) -> None:
        self.owner = owner
        if not _watched:
            log.addObserver(_observe)
        _watched[self] = (fail, clock)

    def stop(self) -> None:
        """
        The wait ended: an error logged from now on is not its business.
        """
        if _watched.pop(self, None) is not None and not _watched:
            log.removeObserver(_observe)


def failOnLoggedError(
    waiter: Deferred[Any], clock: Any, owner: object
) -> Deferred[Any]:
    """
    Fail C{waiter} with the next error logged before it fires, or before
    L{stopWatching} for C{owner}.

    @param clock: The reactor it is failed on, one turn after the error was
        logged (never inside the code that logged it).
    @return: C{waiter}.
    """
    if waiter.called:
        return waiter

    def fail(failure: Failure) -> None:
        if not waiter.called:
            waiter.errback(failure)

    # No callback on the waiter to stop the watch when it fires (the
    # pairing tells a waiter nobody awaits by its having none): a fired
    # waiter ignores the error, and the owner's stopWatching ends it.
    Watch(fail, clock, owner)
    return waiter


def stopWatching(owner: object) -> None:
    """
    Stop every watch of C{owner}: its waits are over, fired or not.
    """
    for watch in [watch for watch in _watched if watch.owner is owner]:
        watch.stop()


def _observe(event: dict[str, Any]) -> None:
    failure = event.get("failure")
    if not (event.get("isError") and isinstance(failure, Failure)):
        return
    for watch, (fail, clock) in list(_watched.items()):
        # Only this wait's first error: it ends there.
        watch.stop()
        clock.callLater(0, fail, failure)
