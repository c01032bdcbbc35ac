# -*- test-case-name: tests.sockets.test_observed,tests.sockets.test_observedReactor -*-
"""
Observing a reactor for the length of a test: every port and connector the
code under test opens through the reactor's C{listen*} and C{connect*}
methods (directly, or through endpoints, strports, an C{Agent}, PB or a
service), and every process it starts with C{spawnProcess} (directly, or
through C{twisted.internet.utils}), is handed to the innermost open network,
so that it joins the same teardown.  The reactor's own methods are restored
exactly when the last network stops observing.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from types import FunctionType
from typing import Any, Protocol

from twisted.python import log

from .._core._report import Origin, userOrigin
from ._transports import applicationFactory

_LISTEN = ("listenTCP", "listenSSL", "listenUNIX", "listenUDP")
_CONNECT = ("connectTCP", "connectSSL", "connectUNIX")
_SPAWN = "spawnProcess"
_MISSING = object()


class Sink(Protocol):
    """
    What receives what the code under test opened.
    """

    def observedPort(self, port: Any, origin: Origin) -> None: ...

    def observedConnector(self, connector: Any, origin: Origin) -> None: ...

    def observedProcess(
        self, process: Any, argv: Sequence[str], origin: Origin
    ) -> None: ...


class _Observer:
    """
    The patches of one reactor, and the networks observing it, innermost
    last.  Its wrappers are made once per reactor, set while a network
    observes, and taken off (the reactor's own methods back) when the last
    one stops.

    Each wrapper keeps, as its C{__wrapped__}, what it calls: what the
    reactor had under it when it was set (a test's patch, or the reactor's
    own method), until it is taken off.  A wrapper someone else patched
    over is theirs to put back, so it keeps what it calls, and a fresh
    wrapper serves from then on: that one, put back late or wrapped by
    their patch, still calls what was under it.
    """

    def __init__(self, reactor: Callable[[], Any]) -> None:
        # Weak where the reactor allows it: the wrappers are kept between
        # tests, the reactor need not be.
        self._reactor = reactor
        # Weak: a network nobody closed, and nobody holds, stops observing
        # as it is freed (its parts refer back to it weakly, so at once).
        self.sinks: list[weakref.ref[Sink]] = []
        self.quiet = 0
        # What the reactor's instance had under a wrapper when it was set:
        # only the names it had (usually none).
        self._saved: dict[str, object] = {}
        self._wrappers: dict[str, Any] = {}
        for name in (*_LISTEN, *_CONNECT, _SPAWN):
            if getattr(reactor(), name, None) is not None:
                self._wrappers[name] = self._patched(name)

    def __enter__(self) -> None:
        """
        Begin a call of trialnet's own (see L{quietly}): what it opens is
        not handed to a sink.
        """
        self.quiet += 1

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.quiet -= 1

    def _patched(self, name: str) -> Any:
        listening = name in _LISTEN

        def opening(*args: Any, **kwargs: Any) -> Any:
            original = getattr(opening, "__wrapped__", None)
            if original is None:
                # Called after it was taken off (someone kept it): the
                # reactor's own method.
                reactor = self._reactor()
                original = getattr(reactor, name)
                if original is opening:
                    original = getattr(type(reactor), name).__get__(reactor)
            # A wrapper of ours is a function: the reactor's own method (a
            # bound method, whose failed attribute lookup raises and clears
            # an AttributeError, about 4,000 instructions) is not asked.
            if type(original) is FunctionType and (
                getattr(original, "observer", None) is self
            ):
                # An earlier wrapper of ours, put back under this one by a
                # patch's restore: it observes (and keeps this call quiet).
                return original(*args, **kwargs)
            # Only this call is trialnet's own: what the application opens
            # from inside it (a factory's startFactory) is the application's.
            quiet, self.quiet = self.quiet, 0
            try:
                opened = original(*args, **kwargs)
            finally:
                self.quiet = quiet
            if not quiet:
                if name == _SPAWN:
                    self._handProcess(opened, args, kwargs)
                else:
                    self._hand(opened, listening)
            return opened

        opening.__name__ = opening.__qualname__ = name
        opening.observer = self  # type: ignore[attr-defined]
        return opening

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

    def _handProcess(
        self, process: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        sink = next((s for s in map(_call, reversed(self.sinks)) if s), None)
        if sink is None:
            return
        try:
            sink.observedProcess(process, _argv(args, kwargs), userOrigin())
        except Exception:
            log.err(
                None,
                "trialnet could not observe the process the code under test started",
            )

    def install(self) -> None:
        """
        Set the wrappers on the reactor, remembering what was there.
        """
        reactor = self._reactor()
        instance = vars(reactor)
        wrappers = self._wrappers
        # Shaped for speed (it runs for every test): a reactor whose
        # instance has none of these names, as it usually has not, gets
        # every wrapper in one update, each calling the reactor's own.
        if instance.keys().isdisjoint(wrappers):
            for name, wrapper in wrappers.items():
                wrapper.__wrapped__ = getattr(reactor, name)
            instance.update(wrappers)
            return
        saved = self._saved
        for name, wrapper in wrappers.items():
            current = instance.get(name, _MISSING)
            if current is wrapper:
                # Ours, put back by someone after we had left: the reactor's
                # own method is under it.
                del instance[name]
                current = _MISSING
            if current is not _MISSING:
                saved[name] = current
            wrapper.__wrapped__ = getattr(reactor, name)
            instance[name] = wrapper

    def restore(self) -> None:
        """
        Put back what was there before L{install}.
        """
        reactor = self._reactor()
        if reactor is None:
            return
        instance = vars(reactor)
        saved = self._saved
        wrappers = self._wrappers
        replaced = []
        if not saved:
            # Shaped for speed (it runs for every test): the instance had
            # none of these names, as it usually has not; each is taken off
            # with one pop, and put back only if it is not ours.
            for name, wrapper in wrappers.items():
                current = instance.pop(name, _MISSING)
                if current is wrapper:
                    del wrapper.__wrapped__
                    continue
                # Someone patched it over ours: theirs to put back.  Ours
                # keeps what it calls; a fresh one serves from now on.
                if current is not _MISSING:
                    instance[name] = current
                replaced.append(name)
            for name in replaced:
                wrappers[name] = self._patched(name)
            return
        for name, wrapper in wrappers.items():
            if instance.get(name) is not wrapper:
                # Someone patched it over ours: theirs to put back.  Ours
                # keeps what it calls; a fresh one serves from now on.
                replaced.append(name)
                continue
            del wrapper.__wrapped__
            # What the instance had under it, if anything (usually nothing).
            if saved:
                previous = saved.pop(name, _MISSING)
                if previous is not _MISSING:
                    instance[name] = previous
                    continue
            del instance[name]
        for name in replaced:
            wrappers[name] = self._patched(name)
        saved.clear()


# Every reactor observed once, observing or not, by id with a weak
# reference: a reactor made for one test is not kept alive.
_observers: dict[int, tuple[Callable[[], Any], _Observer]] = {}


def _same(thing: object) -> object:
    return thing


def _call(reference: weakref.ref[Sink]) -> Sink | None:
    return reference()


def _argv(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """
    The argument list of a call of C{spawnProcess(processProtocol,
    executable, args=(), ...)}, as text (the executable alone when it has
    none).
    """
    executable = args[1] if len(args) > 1 else kwargs.get("executable", "")
    argv = args[2] if len(args) > 2 else kwargs.get("args", ())
    return [os.fsdecode(part) for part in (argv or [executable])]


def _isTrialnets(factory: object) -> bool:
    # A connect of trialnet's own, made later by an endpoint it was given.
    from ._clients import ClientAttempt

    return isinstance(applicationFactory(factory), ClientAttempt)


def _observing(reactor: Any) -> _Observer | None:
    """
    The observer of C{reactor} while a network observes it.

    Written out in L{quietly} too (shaped for speed): a change here goes
    there as well.
    """
    entry = _observers.get(id(reactor))
    if entry is None or entry[0]() is not reactor or not entry[1].sinks:
        return None
    return entry[1]


def observing(reactor: Any) -> bool:
    """
    Whether a network (or a test's run) observes C{reactor} now.
    """
    return _observing(reactor) is not None


def observe(reactor: Any, sink: Sink) -> None:
    """
    Hand what the code under test opens on C{reactor} to C{sink}, until
    L{stopObserving}; the innermost sink gets it.
    """
    key = id(reactor)
    entry = _observers.get(key)
    if entry is None or entry[0]() is not reactor:
        # Checked only here: a reactor observed before has a dictionary.
        if not hasattr(reactor, "__dict__"):
            return
        # The table itself, not the module's global: a reactor that lives
        # until the interpreter exits dies after the module's globals are
        # cleared.
        observers = _observers

        def forget(reference: weakref.ref[Any]) -> None:
            if observers.get(key, (None,))[0] is reference:
                del observers[key]

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
    if observer is None:
        return
    sinks = observer.sinks
    if len(sinks) == 1 and sinks[0]() is sink:
        # Shaped for speed: the only sink leaves, as at the end of nearly
        # every test (no copy of the list, no search).
        del sinks[0]
        _restore(observer)
        return
    for reference in list(sinks):
        if reference() is sink:
            _remove(observer, reference)


def _remove(observer: _Observer, reference: weakref.ref[Sink]) -> None:
    if reference not in observer.sinks:
        return
    observer.sinks.remove(reference)
    if not observer.sinks:
        _restore(observer)


def _restore(observer: _Observer) -> None:
    """
    The last sink left: put the reactor's own methods back.
    """
    observer.restore()
    reactor = observer._reactor
    if isinstance(reactor, partial):
        # Held strongly: not kept past its observation.
        key = id(reactor())
        if _observers.get(key, (None,))[0] is reactor:
            del _observers[key]


def quietly(reactor: Any) -> AbstractContextManager[None]:
    """
    Open something for trialnet itself, inside C{with quietly(reactor):}: it
    is recorded by whoever opens it, not handed to a sink.
    """
    # Shaped for speed (it runs at every port and connection): the observer
    # is its own context manager, so nothing is made for the call, and
    # _observing() is written out.
    entry = _observers.get(id(reactor))
    if entry is None or entry[0]() is not reactor or not entry[1].sinks:
        return _NOT_OBSERVING
    return entry[1]


#: What L{quietly} gives for a reactor nobody observes.
_NOT_OBSERVING: AbstractContextManager[None] = nullcontext()
