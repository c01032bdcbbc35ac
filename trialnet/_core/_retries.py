# -*- test-case-name: tests.core.test_retries,tests.core.test_leftTimers -*-
"""
The timers the code under test leaves: those it schedules while it hears
that a connection of a network was lost or failed (a
C{ReconnectingClientFactory}'s or a C{ClientService}'s retry), during the
test or during its teardown, which the teardown stops with their owner
(L{trialnet._core._owners}) or cancels and, with strict cleanup, reports.  The
test runner's timers, trialnet's own, and the reactor's own next steps of
a socket are never among them, whatever code they were scheduled from.
"""

from __future__ import annotations

import inspect
import sys
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from twisted.internet.abstract import FileDescriptor
from twisted.internet.base import ReactorBase
from twisted.internet.defer import Deferred
from twisted.python import log

from ._owners import clientMachineOf
from ._report import Leftover, Origin

_MISSING = object()

#: The modules whose timers are never the code under test's: the test
#: runners' (trial's timeout of each step, pytest-twisted's) and trialnet's.
_RUNNERS = ("twisted.trial.", "pytest_twisted", "trialnet.")


class Captured(NamedTuple):
    """
    A timer the code under test scheduled as it heard of a lost or failed
    connection.

    @ivar call: The timer.
    @ivar origin: The line of the user's code that opened the connection.
    @ivar duringTest: Whether what scheduled it began before the teardown.
    """

    call: Any
    origin: Origin | None
    duringTest: bool


#: How many teardowns began, in one list so that it is read without a
#: call: a scope notes it as it begins, and a teardown's own number is the
#: count once it began, so a scope began before that teardown if and only
#: if the count it noted is lower.
_closings = [0]


class TimerCapture:
    """
    The timers one network's code under test schedules on a reactor while it
    hears that a connection of that network was lost or failed, inside
    L{retriesOf} for the same owner, from the network's making to its
    teardown's end.  Timers scheduled anywhere else, or for another network,
    are none of its business.

    On a reactor that keeps the timers scheduled since its last turn in a
    list (Twisted's C{ReactorBase} and the reactors that keep its
    C{callLater}: epoll, poll, select), a scope reads what it added to that
    list, and the reactor is not touched.  Anywhere else (asyncio's reactor,
    a C{Clock}) the reactor's C{callLater} is wrapped while a scope runs.

    @ivar calls: The captured timers.
    """

    def __init__(self, reactor: Any, owner: object) -> None:
        self._reactor = reactor
        # Weak where it can be: a network dropped unclosed is freed at once.
        try:
            self.owner: Callable[[], object] = weakref.ref(owner)
        except TypeError:
            self.owner = partial(_same, owner)
        self.calls: list[Captured] = []
        self._prunedAt = 16
        self._closingAt: int | None = None
        captures = _captures.setdefault(id(reactor), [])
        if captures:
            # Those of networks dropped unclosed go (with the networks of a
            # test closed, as usual, there are none to look at).
            captures[:] = [
                capture for capture in captures if capture.owner() is not None
            ]
        captures.append(self)

    def closing(self) -> None:
        """
        The owner's teardown begins: what scopes begun from now on schedule,
        the teardown provoked.
        """
        _closings[0] += 1
        self._closingAt = _closings[0]

    def add(self, calls: list[Any], scope: _Retries) -> None:
        """
        Take C{calls}, scheduled inside a scope of this capture's owner.
        """
        mine = self.calls
        duringTest = self._closingAt is None or scope.began < self._closingAt
        mine.extend(
            Captured(call, scope.origin, duringTest)
            for call in calls
            if not (_runners(call) or _socketStep(call))
        )
        # A long test schedules many timers that run: keep only the pending.
        if len(mine) > self._prunedAt:
            mine[:] = [entry for entry in mine if entry.call.active()]
            self._prunedAt = max(16, 2 * len(mine))

    def pending(self) -> list[Captured]:
        """
        @return: The captured timers still pending.
        """
        return [entry for entry in self.calls if entry.call.active()]

    def stop(self) -> list[Captured]:
        """
        Stop capturing.

        @return: The captured timers still pending.
        """
        key = id(self._reactor)
        captures = _captures.get(key, [])
        if self in captures:
            captures.remove(self)
        if not captures:
            _captures.pop(key, None)
        if not self.calls:
            # Nothing was captured, as in most tests: no list to filter.
            return []
        pending = self.pending()
        self.calls = []
        return pending


def _same(thing: object) -> object:
    return thing


_captures: dict[int, list[TimerCapture]] = {}


def _runners(call: Any) -> bool:
    """
    Whether a timer's function is the test runner's or trialnet's, inside
    any partial, bound method or decorator (trial's timeout is wrapped by
    C{suppressWarnings}, which keeps the module of what it wraps).
    """
    function = getattr(call, "func", None)
    while isinstance(function, partial):
        function = function.func
    module = getattr(function, "__module__", None)
    return isinstance(module, str) and (module + ".").startswith(_RUNNERS)


def _socketStep(call: Any) -> bool:
    """
    Whether a timer is the reactor's own next step of a socket, which a
    close or a connect begun in the code under test scheduled: a TCP or UNIX
    port's stop (C{deferLater(reactor, 0, port.connectionLost)}), a UDP
    port's, a client's connect, a TLS transport's flush of its small
    writes.  Such a timer finishes what was begun, and
    is never a retry: cancelled, it would leave its socket open (FTP stops
    its data port as it hears that its control connection was lost).
    """
    try:
        function = getattr(call, "func", None)
        deferred = getattr(function, "__self__", None)
        if isinstance(deferred, Deferred):
            # deferLater's timer fires its Deferred, whose first callback
            # calls the function deferLater was given (a variable of its
            # closure).
            chain = getattr(deferred, "_callbacks", None)  # Twisted 25.5 and later
            if chain is None:
                chain = vars(deferred).get("callbacks", ())
            function = None
            if chain and inspect.isfunction(chain[0][0][0]):
                variables = inspect.getclosurevars(chain[0][0][0]).nonlocals
                function = variables.get("callable")
        owner = getattr(function, "__self__", None)
        # TLS's own transport flushes the small writes of a turn at once.
        tls = sys.modules.get("twisted.protocols.tls")
        aggregate = getattr(tls, "_AggregateSmallWrites", ())
        return isinstance(owner, (FileDescriptor, aggregate))
    except Exception:
        # A closure with a variable never set, say: not a step we know.
        return False


def _newCalls(reactor: Any) -> list[Any] | None:
    """
    The list a reactor appends each new timer to until its next turn
    (C{ReactorBase._newTimedCalls}), or None if it has none.

    Only a reactor whose C{callLater} is C{ReactorBase}'s own keeps its new
    timers there until its turn: asyncio's reactor, for one, moves them out
    at once to compute its next wake-up; and a C{callLater} patched on the
    instance (a test's, or a scope's wrapper) may schedule elsewhere.
    """
    if getattr(type(reactor), "callLater", None) is not _LISTING_CALL_LATER:
        return None
    # A ReactorBase, then, which keeps its attributes in its dictionary:
    # one attribute read, not two calls of getattr (every scope asks).
    instance = reactor.__dict__
    if "callLater" in instance:
        return None
    calls = instance.get("_newTimedCalls")
    return calls if type(calls) is list else None


_LISTING_CALL_LATER = getattr(ReactorBase, "callLater", None)


def _hand(key: int, scope: _Retries, calls: list[Any]) -> None:
    captures = _captures.get(key, ())
    for capture in list(captures):
        owner = capture.owner()
        if owner is None:
            # Its network was dropped unclosed.
            capture.stop()
        elif owner is scope.owner:
            capture.add(calls, scope)


class _Retries:
    """
    L{retriesOf}'s context manager, and the scope it opens: code under test
    that hears of a lost or failed connection of C{owner}'s runs inside
    C{with retriesOf(reactor, owner, origin):}, and what it schedules is
    captured for C{owner}'s teardown, with C{origin}, the line that opened
    the connection.

    @ivar calls: The reactor's list of new timers when the scope began, or
        None when timers are captured by wrapping C{callLater}.
    @ivar start: Its length then.
    @ivar inner: The timers that scopes inside this one scheduled, which
        are theirs.
    """

    # One is made for every connection lost: no dictionary of its own.
    __slots__ = (
        "_key",
        "_reactor",
        "_saved",
        "began",
        "calls",
        "inner",
        "origin",
        "owner",
        "start",
    )

    def __init__(
        self, reactor: Any, owner: object, origin: Origin | None = None
    ) -> None:
        self._reactor = reactor
        self._key = id(reactor)
        self.owner = owner
        self.origin = origin
        self.inner: set[int] | None = None
        self._saved: object = None

    def __enter__(self) -> None:
        # Shaped for speed (every connection lost opens a scope): what
        # __init__ leaves unset is set here, once.
        self.began = _closings[0]
        self.calls = calls = _newCalls(self._reactor)
        self.start = 0 if calls is None else len(calls)
        scopes = _scopes.get(self._key)
        if scopes is None:
            scopes = _scopes[self._key] = []
            if calls is None and self._key in _captures:
                self._saved = _wrapCallLater(self._reactor, self._key)
        scopes.append(self)

    def __exit__(self, *exc: object) -> None:
        scopes = _scopes[self._key]
        scopes.pop()
        if not scopes:
            del _scopes[self._key]
            if self._saved is not None:
                _restoreCallLater(self._reactor, self._saved)
        try:
            calls = self.calls
            # Shaped for speed: most scopes schedule nothing, and call
            # nothing more.
            if calls is not None and len(calls) > self.start:
                self._take(scopes)
        finally:
            # The outermost scope: what waited for the delivery's end.
            if not scopes and _afterDeliveries:
                for callback in _afterDeliveries.pop(self._key, ()):
                    try:
                        callback()
                    except Exception:
                        log.err(
                            None,
                            "trialnet: error after a delivery of a lost connection",
                        )

    def _take(self, scopes: list[_Retries]) -> None:
        # Called by __exit__ only when the reactor's list grew in the scope.
        calls = self.calls
        assert calls is not None
        # Read only if the reactor did not take its new timers in meanwhile
        # (a turn inside the scope), and its list is still this one.
        added = calls[self.start :] if calls is _newCalls(self._reactor) else []
        if scopes:
            outer = scopes[-1]
            if outer.inner is None:
                outer.inner = set()
            outer.inner.update(map(id, added))
        inner = self.inner
        if inner:
            added = [call for call in added if id(call) not in inner]
        if added and self._key in _captures:
            _hand(self._key, self, added)


#: Open a scope: the class itself, not a function that makes one (shaped
#: for speed: every connection lost opens a scope, and a call fewer each).
retriesOf = _Retries

_scopes: dict[int, list[_Retries]] = {}
_afterDeliveries: dict[int, list[Callable[[], None]]] = {}


def afterDeliveries(reactor: Any, callback: Callable[[], None]) -> bool:
    """
    If the code under test is hearing of a lost or failed connection on
    C{reactor} (a scope is open: a teardown that began inside it, from a
    test resumed there, must not end before what it schedules is known),
    call C{callback} once that is over.

    @return: Whether C{callback} waits; if not, it is not called.
    """
    key = id(reactor)
    if key not in _scopes:
        return False
    _afterDeliveries.setdefault(key, []).append(callback)
    return True


def _wrapCallLater(reactor: Any, key: int) -> object:
    """
    Wrap a reactor's C{callLater} on the instance, for the outermost scope,
    so that what it schedules goes to the innermost scope's owner.

    @return: What the instance had before, or C{_MISSING}; C{None} if the
        reactor cannot be wrapped.
    """
    instance = getattr(reactor, "__dict__", None)
    if instance is None:
        return None
    saved = instance.get("callLater", _MISSING)
    original = reactor.callLater

    def callLater(*args: Any, **kwargs: Any) -> Any:
        call = original(*args, **kwargs)
        scopes = _scopes.get(key)
        if scopes:
            _hand(key, scopes[-1], [call])
        return call

    instance["callLater"] = callLater
    return saved


def _restoreCallLater(reactor: Any, saved: object) -> None:
    instance = vars(reactor)
    if saved is _MISSING:
        instance.pop("callLater", None)
    else:
        instance["callLater"] = saved


def timerLeftover(captured: Captured, action: str) -> Leftover:
    """
    A captured timer, for the report: named with the line that opened the
    connection whose loss or failure scheduled it, or else where its
    function is.
    """
    function = captured.call.func
    origin = captured.origin
    if origin is None:
        code = getattr(function, "__code__", None)
        origin = Origin(
            getattr(code, "co_filename", "?"), getattr(code, "co_firstlineno", 0)
        )
    if clientMachineOf(function) is not None:
        kind = "ClientService retry"
    else:
        kind = str(getattr(function, "__qualname__", repr(function)))
    # Named only under strict cleanup: the code under test left it.
    return Leftover(
        role="timer", origin=origin, action=action, kind=kind, leftOpen=True
    )
