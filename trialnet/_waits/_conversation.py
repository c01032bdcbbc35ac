# -*- test-case-name: tests.waits.test_conversation,tests.waits.test_reads -*-
"""
Conversation helpers: a protocol that records what it receives and waits,
event-driven and with a bound, for the other side.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IDelayedCall
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from .._core._defaults import DEFAULT_WAIT
from .._core._seconds import checkSeconds
from ._failfast import Watch
from ._interfaces import IBoundedWaits

_PREVIEW = 200


class WaitTimeoutError(Exception):
    """
    A wait of a L{Recorder} did not end in time.

    @ivar waitedFor: What it was waiting for.
    @ivar received: Everything received until then.
    @ivar seconds: How long it waited.
    """

    def __init__(self, waitedFor: str, received: bytes, seconds: float) -> None:
        self.waitedFor = waitedFor
        self.received = received
        self.seconds = seconds
        super().__init__(
            f"waited {seconds:.2f}s for {waitedFor}; received so far "
            f"{_preview(received)}"
        )


class ClosedWhileWaitingError(Exception):
    """
    The connection of a L{Recorder} closed before what it waited for came.

    @ivar waitedFor: What it was waiting for.
    @ivar received: Everything received.
    """

    def __init__(self, waitedFor: str, received: bytes) -> None:
        self.waitedFor = waitedFor
        self.received = received
        super().__init__(
            f"the connection closed while waiting for {waitedFor}; received "
            f"{_preview(received)}"
        )


def _preview(data: bytes) -> str:
    shown = repr(data[:_PREVIEW])
    if len(data) > _PREVIEW:
        shown += "..."
    return f"{len(data)} bytes: {shown}"


class _Wait:
    """
    One pending wait: what completes it, its Deferred and its timer.
    """

    def __init__(
        self,
        description: str,
        complete: Callable[[bytes, bool], tuple[bool, Any]],
        deferred: Deferred[Any],
    ) -> None:
        self.description = description
        self.complete = complete
        self.deferred = deferred
        self.timer: IDelayedCall | None = None
        self.watch: Watch | None = None


@implementer(IBoundedWaits)
class Recorder(Protocol):
    """
    A protocol that keeps everything it receives and waits for it.

    Every wait returns a L{Deferred<twisted.internet.defer.Deferred>} that fires once
    what it waits for has arrived (at once if it already has), fails with
    L{WaitTimeoutError} after its bound, naming what it waited for and what had arrived,
    and fails with L{ClosedWhileWaitingError} if the connection closes first.  Nothing
    polls: waits are checked as data arrives.

    A wait also fails, at once, with the error itself when an error is
    logged while it waits (a protocol of either side raised in
    C{dataReceived}, say, and the reactor logged it): the test sees the
    cause, not a timeout.  Set L{failFast} to C{False} for a test that
    expects the code under test to log an error while it waits.

    @ivar received: All bytes received so far.
    @ivar closed: Whether the connection has closed.
    @ivar reason: Why it closed, once it has.
    @ivar waitTimeout: The default bound of a wait, in seconds; C{None}
        until a L{trialnet.NetworkTestCase} sets it from its own timeout,
        when L{DEFAULT_WAIT} applies.  A bound, this one or a wait's own
        C{timeout}, is a finite positive int or float: anything else (a
        bool, NaN, infinity) fails the call with C{TypeError} or
        C{ValueError} before it waits.
    @ivar clock: What schedules the bounds; the global reactor by default.
    @ivar failFast: Whether a logged error fails the pending waits at once;
        C{None} until a network sets it from its own C{failFast}, when it
        does.
    """

    waitTimeout: float | None = None
    failFast: bool | None = None
    clock: Any = None

    def __init__(self) -> None:
        self.received = b""
        self.closed = False
        self.reason: Failure | None = None
        self._waits: list[_Wait] = []
        # How much of received the consuming reads have handed out.
        self._consumed = 0

    def dataReceived(self, data: bytes) -> None:
        """
        Keep C{data}, and end the waits it completes.
        """
        self.received += data
        self._check()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Note the close and its reason, and end every wait: those for data
        fail with L{ClosedWhileWaitingError}.
        """
        self.closed = True
        self.reason = reason
        self._check()

    def waitForBytes(self, count: int, timeout: float | None = None) -> Deferred[bytes]:
        """
        Wait until at least C{count} bytes have arrived.

        @param count: How many bytes, in all, since the connection began.
        @param timeout: Seconds to wait; see L{waitTimeout}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with
            everything received by then.
        """
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a non-negative int, not {count!r}")

        def complete(received: bytes, closed: bool) -> tuple[bool, Any]:
            return len(received) >= count, received

        return self._wait(f"at least {count} bytes", complete, timeout)

    def waitForDelimiter(
        self, delimiter: bytes, timeout: float | None = None
    ) -> Deferred[bytes]:
        """
        Wait until C{delimiter} has arrived.

        @param delimiter: The bytes to wait for, such as C{b"\\r\\n"}.
        @param timeout: Seconds to wait; see L{waitTimeout}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with what was
            received up to and including the first C{delimiter}.
        """
        if not isinstance(delimiter, bytes) or not delimiter:
            raise ValueError(f"delimiter must be non-empty bytes, not {delimiter!r}")

        def complete(received: bytes, closed: bool) -> tuple[bool, Any]:
            end = received.find(delimiter)
            if end < 0:
                return False, None
            return True, received[: end + len(delimiter)]

        return self._wait(f"the delimiter {delimiter!r}", complete, timeout)

    def send(self, data: bytes) -> None:
        """
        Write C{data} to the connection.

        @raise RuntimeError: If the connection is not made yet.
        """
        if self.transport is None:
            raise RuntimeError(f"{self!r} has no connection to send on")
        self.transport.write(data)

    def readLine(
        self, delimiter: bytes = b"\r\n", timeout: float | None = None
    ) -> Deferred[bytes]:
        """
        Read the next line, consuming it: a second call reads the line after.
        Reads (L{readLine}, L{readBytes}) take turns in the order they were
        called; L{received} and the cumulative waits are not affected.

        @param delimiter: What ends a line.
        @param timeout: Seconds to wait; see L{waitTimeout}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            with the line, without C{delimiter}; it fails with
            L{ClosedWhileWaitingError} if the connection closes first, or
            L{WaitTimeoutError} after the bound.
        """
        if not isinstance(delimiter, bytes) or not delimiter:
            raise ValueError(f"delimiter must be non-empty bytes, not {delimiter!r}")

        def complete(received: bytes, closed: bool) -> tuple[bool, Any]:
            end = received.find(delimiter, self._consumed)
            if end < 0:
                return False, None
            line = received[self._consumed : end]
            self._consumed = end + len(delimiter)
            return True, line

        return self._wait(f"a line ending in {delimiter!r}", complete, timeout)

    def readBytes(self, count: int, timeout: float | None = None) -> Deferred[bytes]:
        """
        Read the next C{count} bytes, consuming them, in turn with
        L{readLine}.

        @param count: How many bytes, counted from the end of the last read.
        @param timeout: Seconds to wait; see L{waitTimeout}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            with exactly C{count} bytes, or fails as L{readLine} does.
        """
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a non-negative int, not {count!r}")

        def complete(received: bytes, closed: bool) -> tuple[bool, Any]:
            if len(received) - self._consumed < count:
                return False, None
            start, self._consumed = self._consumed, self._consumed + count
            return True, received[start : self._consumed]

        return self._wait(f"{count} more bytes", complete, timeout)

    def waitForClose(self, timeout: float | None = None) -> Deferred[None]:
        """
        Wait until the connection has closed.

        @param timeout: Seconds to wait; see L{waitTimeout}.
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with C{None}
            after C{connectionLost}.
        """

        def complete(received: bytes, closed: bool) -> tuple[bool, Any]:
            return closed, None

        return self._wait("the connection to close", complete, timeout)

    def _wait(
        self,
        description: str,
        complete: Callable[[bytes, bool], tuple[bool, Any]],
        timeout: float | None,
    ) -> Deferred[Any]:
        seconds = self._bound(timeout)
        done, result = complete(self.received, self.closed)
        deferred: Deferred[Any] = Deferred()
        if done:
            deferred.callback(result)
            return deferred
        if self.closed:
            deferred.errback(ClosedWhileWaitingError(description, self.received))
            return deferred
        wait = _Wait(description, complete, deferred)
        clock = self._clock()
        wait.timer = clock.callLater(seconds, self._expire, wait, seconds)
        if self.failFast is not False:
            wait.watch = Watch(partial(self._interrupt, wait), clock, self)
        self._waits.append(wait)
        return deferred

    def _bound(self, timeout: float | None) -> float:
        if timeout is not None:
            return checkSeconds(timeout, "timeout")
        if self.waitTimeout is None:
            return DEFAULT_WAIT
        return checkSeconds(self.waitTimeout, "waitTimeout")

    def _clock(self) -> Any:
        if self.clock is None:
            from twisted.internet import reactor

            return reactor
        return self.clock

    def _check(self) -> None:
        waits, self._waits = self._waits, []
        for wait in waits:
            done, result = wait.complete(self.received, self.closed)
            if done:
                self._end(wait)
                wait.deferred.callback(result)
            elif self.closed:
                self._end(wait)
                wait.deferred.errback(
                    ClosedWhileWaitingError(wait.description, self.received)
                )
            else:
                self._waits.append(wait)

    def _end(self, wait: _Wait) -> None:
        if wait.timer is not None and wait.timer.active():
            wait.timer.cancel()
        if wait.watch is not None:
            wait.watch.stop()

    def _expire(self, wait: _Wait, seconds: float) -> None:
        self._waits.remove(wait)
        self._end(wait)
        wait.deferred.errback(
            WaitTimeoutError(wait.description, self.received, seconds)
        )

    def _interrupt(self, wait: _Wait, failure: Failure) -> None:
        if wait in self._waits:
            self._waits.remove(wait)
            self._end(wait)
            wait.deferred.errback(failure)


class RecorderFactory(Factory):
    """
    Builds L{Recorder}s (or the subclass in C{protocol}) and keeps them, in
    the order built.

    @ivar built: Every protocol built so far.
    """

    protocol = Recorder

    def __init__(self) -> None:
        self.built: list[Recorder] = []

    def buildProtocol(self, addr: IAddress) -> Recorder:  # type: ignore[override]
        """
        Build a recorder and keep it in L{built}.
        """
        protocol = super().buildProtocol(addr)
        assert isinstance(protocol, Recorder)
        self.built.append(protocol)
        return protocol
