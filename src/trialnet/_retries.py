"""
The retries a teardown provokes: the timers the code under test schedules
while it hears that a connection of the network being torn down was lost or
failed (a C{ReconnectingClientFactory}, a C{ClientService}), which the
teardown cancels and, with strict cleanup, reports.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.base import ReactorBase

_MISSING = object()


class TimerCapture:
    """
    The retries one network's teardown provokes: the timers the code under
    test schedules on a reactor while it hears that a connection of that
    network was lost or failed (a C{ReconnectingClientFactory}, a
    C{ClientService}), inside L{retriesOf} for the same owner.  Timers
    scheduled anywhere else, or for another network, are none of its
    business.

    On a reactor that keeps the timers scheduled since its last turn in a
    list (Twisted's C{ReactorBase} and the reactors that keep its
    C{callLater}: epoll, poll, select), a scope reads what it added to that
    list, and the reactor is not touched.  Anywhere else (asyncio's reactor,
    a C{Clock}) the reactor's C{callLater} is wrapped while a capture runs.
    """

    def __init__(self, reactor: Any, owner: object) -> None:
        self._reactor = reactor
        self._owner = owner
        self.calls: list[Any] = []
        key = id(reactor)
        captures = _captures.setdefault(key, [])
        if not captures and _newCalls(reactor) is None:
            _saved[key] = vars(reactor).get("callLater", _MISSING)
            original = reactor.callLater

            def callLater(*args: Any, **kwargs: Any) -> Any:
                call = original(*args, **kwargs)
                scopes = _scopes.get(key)
                if scopes:
                    _hand(key, scopes[-1].owner, [call])
                return call

            vars(reactor)["callLater"] = callLater
        captures.append(self)

    def stop(self) -> list[Any]:
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
            if key in _saved:
                saved = _saved.pop(key)
                instance = vars(self._reactor)
                if saved is _MISSING:
                    instance.pop("callLater", None)
                else:
                    instance["callLater"] = saved
        calls, self.calls = self.calls, []
        return [call for call in calls if call.active()]


_captures: dict[int, list[TimerCapture]] = {}
_saved: dict[int, object] = {}


def _newCalls(reactor: Any) -> list[Any] | None:
    """
    The list a reactor appends each new timer to until its next turn
    (C{ReactorBase._newTimedCalls}), or None if it has none.

    Only a reactor whose C{callLater} is C{ReactorBase}'s own keeps its new
    timers there until its turn: asyncio's reactor, for one, moves them out
    at once to compute its next wake-up; and a C{callLater} patched on the
    instance (a test's, or a capture's wrapper) may schedule elsewhere.
    """
    if getattr(type(reactor), "callLater", None) is not _LISTING_CALL_LATER:
        return None
    if "callLater" in getattr(reactor, "__dict__", ()):
        return None
    calls = getattr(reactor, "_newTimedCalls", None)
    return calls if type(calls) is list else None


_LISTING_CALL_LATER = getattr(ReactorBase, "callLater", None)


def _hand(key: int, owner: object, calls: list[Any]) -> None:
    for capture in _captures.get(key, ()):
        if capture._owner is owner:
            capture.calls.extend(calls)


def retriesOf(reactor: Any, owner: object) -> _Retries:
    """
    Run code under test that hears of a lost or failed connection of
    C{owner}'s, inside C{with retriesOf(reactor, owner):}: what it schedules
    is captured by C{owner}'s teardown, if that one is running.
    """
    return _Retries(reactor, owner)


class _Retries:
    """
    L{retriesOf}'s context manager, and the scope it opens.

    @ivar calls: The reactor's list of new timers when the scope began, or
        None when timers are captured by wrapping C{callLater}.
    @ivar start: Its length then.
    @ivar inner: The timers that scopes inside this one scheduled, which
        are theirs.
    """

    def __init__(self, reactor: Any, owner: object) -> None:
        self._reactor = reactor
        self._key = id(reactor)
        self.owner = owner
        self.calls: list[Any] | None = None
        self.start = 0
        self.inner: set[int] | None = None

    def __enter__(self) -> None:
        self.calls = calls = _newCalls(self._reactor)
        if calls is not None:
            self.start = len(calls)
        scopes = _scopes.get(self._key)
        if scopes is None:
            scopes = _scopes[self._key] = []
        scopes.append(self)

    def __exit__(self, *exc: object) -> None:
        scopes = _scopes[self._key]
        scopes.pop()
        if not scopes:
            del _scopes[self._key]
        calls = self.calls
        if calls is None or len(calls) <= self.start:
            return
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
            _hand(self._key, self.owner, added)


_scopes: dict[int, list[_Retries]] = {}
