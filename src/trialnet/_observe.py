"""
Observing a reactor for the length of a test: every port and connector the
code under test opens through the reactor's C{listen*} and C{connect*}
methods (directly, or through endpoints, strports, an C{Agent}, PB or a
service) is handed to the innermost open network, so that it joins the same
teardown.  The reactor's own methods are restored exactly when the last
network stops observing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from twisted.internet.base import ReactorBase
from twisted.python import log

from ._report import Origin, userOrigin
from ._transports import applicationFactory

_LISTEN = ("listenTCP", "listenSSL", "listenUNIX", "listenUDP")
_CONNECT = ("connectTCP", "connectSSL", "connectUNIX")
_MISSING = object()


class Sink(Protocol):
    """
    What receives what the code under test opened.
    """

    def observedPort(self, port: Any, origin: Origin) -> None: ...

    def observedConnector(self, connector: Any, origin: Origin) -> None: ...


class _Observer:
    """
    The patches of one reactor, and the networks observing it, innermost
    last.  Its wrappers are made once per reactor, set while a network
    observes, and taken off (the reactor's own methods back) when the last
    one stops.

    Each wrapper keeps, in its own box, what it calls: what the reactor had
    under it when it was set (a test's patch, or the reactor's own method).
    A wrapper someone else patched over is theirs to put back, so it keeps
    its box, and a fresh wrapper serves from then on: that one, put back
    late or wrapped by their patch, still calls what was under it.
    """

    def __init__(self, reactor: Callable[[], Any]) -> None:
        # Weak where the reactor allows it: the wrappers are kept between
        # tests, the reactor need not be.
        self._reactor = reactor
        # Weak: a network nobody closed, and nobody holds, stops observing.
        self.sinks: list[weakref.ref[Sink]] = []
        self.quiet = 0
        self._saved: dict[str, object] = {}
        self._wrappers: dict[str, tuple[Any, list[Any]]] = {}
        for name in _LISTEN + _CONNECT:
            if getattr(reactor(), name, None) is not None:
                self._wrappers[name] = self._patched(name)

    def _patched(self, name: str) -> tuple[Any, list[Any]]:
        listening = name in _LISTEN
        box: list[Any] = [None]

        def opening(*args: Any, **kwargs: Any) -> Any:
            original = box[0]
            if original is None:
                # Called after it was taken off (someone kept it): the
                # reactor's own method.
                reactor = self._reactor()
                original = getattr(reactor, name)
                if original is opening:
                    original = getattr(type(reactor), name).__get__(reactor)
            # Only this call is trialnet's own: what the application opens
            # from inside it (a factory's startFactory) is the application's.
            quiet, self.quiet = self.quiet, 0
            try:
                opened = original(*args, **kwargs)
            finally:
                self.quiet = quiet
            if not quiet:
                self._hand(opened, listening)
            return opened

        opening.__name__ = opening.__qualname__ = name
        return opening, box

    def _hand(self, opened: Any, listening: bool) -> None:
        sink = next((s for s in map(_call, reversed(self.sinks)) if s), None)
        if sink is None:
            return
        try:
            origin = userOrigin()
            if listening:
                sink.observedPort(opened, origin)
            elif not _isTrialnets(getattr(opened, "factory", None)):
                sink.observedConnector(opened, origin)
        except Exception:
            # The code under test must never see trialnet fail.
            log.err(None, "trialnet could not observe what the code under test opened")

    def install(self) -> None:
        """
        Set the wrappers on the reactor, remembering what was there.
        """
        reactor = self._reactor()
        instance = vars(reactor)
        for name, (wrapper, box) in self._wrappers.items():
            current = instance.get(name, _MISSING)
            if current is wrapper:
                # Ours, put back by someone after we had left: the reactor's
                # own method is under it.
                del instance[name]
                current = _MISSING
            self._saved[name] = current
            box[0] = getattr(reactor, name) if current is _MISSING else current
            wrapper.__wrapped__ = box[0]
            instance[name] = wrapper

    def restore(self) -> None:
        """
        Put back what was there before L{install}.
        """
        reactor = self._reactor()
        if reactor is None:
            return
        instance = vars(reactor)
        for name, saved in self._saved.items():
            wrapper, box = self._wrappers[name]
            if instance.get(name) is not wrapper:
                # Someone patched it over ours: theirs to put back.  Ours
                # keeps what it calls; a fresh one serves from now on.
                self._wrappers[name] = self._patched(name)
                continue
            box[0] = None
            del wrapper.__wrapped__
            if saved is _MISSING:
                del instance[name]
            else:
                instance[name] = saved
        self._saved.clear()


# Every reactor observed once, observing or not, by id with a weak
# reference: a reactor made for one test is not kept alive.
_observers: dict[int, tuple[Callable[[], Any], _Observer]] = {}


def _same(thing: object) -> object:
    return thing


def _call(reference: weakref.ref[Sink]) -> Sink | None:
    return reference()


def _isTrialnets(factory: object) -> bool:
    # A connect of trialnet's own, made later by an endpoint it was given.
    from ._clients import ClientAttempt

    return isinstance(applicationFactory(factory), ClientAttempt)


def _observing(reactor: Any) -> _Observer | None:
    """
    The observer of C{reactor} while a network observes it.
    """
    entry = _observers.get(id(reactor))
    if entry is None or entry[0]() is not reactor or not entry[1].sinks:
        return None
    return entry[1]


def observe(reactor: Any, sink: Sink) -> None:
    """
    Hand what the code under test opens on C{reactor} to C{sink}, until
    L{stopObserving}; the innermost sink gets it.
    """
    if not hasattr(reactor, "__dict__"):
        return
    key = id(reactor)
    entry = _observers.get(key)
    if entry is None or entry[0]() is not reactor:

        def forget(reference: weakref.ref[Any]) -> None:
            if _observers.get(key, (None,))[0] is reference:
                del _observers[key]

        reference: Callable[[], Any]
        try:
            reference = weakref.ref(reactor, forget)
        except TypeError:
            # A reactor with no weak references: held while observed, and
            # forgotten when the last sink leaves (see _remove).
            reference = partial(_same, reactor)
        entry = _observers[key] = (reference, _Observer(reference))
    observer = entry[1]
    if not observer.sinks:
        observer.install()

    def gone(reference: weakref.ref[Sink]) -> None:
        _remove(observer, reference)

    observer.sinks.append(weakref.ref(sink, gone))


def stopObserving(reactor: Any, sink: Sink) -> None:
    """
    Stop handing anything to C{sink}; the last sink of a reactor restores it.
    """
    observer = _observing(reactor)
    if observer is not None:
        for reference in list(observer.sinks):
            if reference() is sink:
                _remove(observer, reference)


def _remove(observer: _Observer, reference: weakref.ref[Sink]) -> None:
    if reference not in observer.sinks:
        return
    observer.sinks.remove(reference)
    if not observer.sinks:
        observer.restore()
        reactor = observer._reactor
        if isinstance(reactor, partial):
            # Held strongly: not kept past its observation.
            key = id(reactor())
            if _observers.get(key, (None,))[0] is reactor:
                del _observers[key]


def quietly(reactor: Any) -> _Quiet:
    """
    Open something for trialnet itself, inside C{with quietly(reactor):}: it
    is recorded by whoever opens it, not handed to a sink.
    """
    return _Quiet(reactor)


class _Quiet:
    """
    L{quietly}'s context manager (a class rather than a generator: it runs
    at every port and connection).
    """

    def __init__(self, reactor: Any) -> None:
        self._observer = _observing(reactor)

    def __enter__(self) -> None:
        if self._observer is not None:
            self._observer.quiet += 1

    def __exit__(self, *exc: object) -> None:
        if self._observer is not None:
            self._observer.quiet -= 1


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
