# -*- test-case-name: tests.waits.test_calls -*-
"""
Waiting for a method call, not only for bytes: the next call of a named
method on one object (a protocol's C{lineReceived}, a factory's
C{clientConnectionLost}), as carly's C{hookMethod} does.
"""

from __future__ import annotations

import inspect
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure
from twisted.python.reflect import qual

from .._core._patch import InstancePatch, ownedBy, patchable
from .._core._record import Hook
from ._conversation import WaitTimeoutError
from ._failfast import Watch


def checkMethod(target: object, name: object) -> str:
    """
    @return: C{name}, a method of C{target}.
    @raise TypeError: If C{name} is not a string.
    @raise ValueError: If C{target} has no such method.
    """
    if not isinstance(name, str):
        raise TypeError(f"whenCalled() takes a method's name as a str, not {name!r}")
    if not callable(getattr(target, name, None)):
        raise ValueError(
            f"{qual(type(target))} has no method {name!r} for whenCalled() to wait on"
        )
    if ownedBy(target, name, CallWait):
        raise ValueError(
            f"a whenCalled() wait on {qual(type(target))}.{name} is pending "
            f"already: wait for it, then wait again"
        )
    return name


class CallWait(Hook):
    """
    One wait for the next call of C{target.name}: the method is replaced on
    the instance until that call (or the bound, or the teardown), then put
    back.

    @ivar waiter: Fires with the call's C{inspect.BoundArguments} after the
        method returned, or fails with what it raised, with
        L{WaitTimeoutError} after the bound, or with an error logged
        meanwhile when C{failFast}.
    """

    role = "wait"

    def __init__(
        self,
        target: Any,
        name: str,
        seconds: float,
        reactor: Any,
        failFast: bool,
    ) -> None:
        self.waiter: Deferred[inspect.BoundArguments] = Deferred()
        self._description = f"a call of {qual(type(target))}.{name}"
        self._name = name
        self._target = target
        self._original = getattr(target, name)
        self._patch: InstancePatch | None = patchable(target, "object")
        self._patch.set(name, self._called)
        self._timer = reactor.callLater(seconds, self._expire, seconds)
        self._watch = Watch(self._end, reactor, self) if failFast else None

    @property
    def kind(self) -> str:
        return self._description

    def _called(self, *args: Any, **kwargs: Any) -> Any:
        original = self._original
        self._restore()
        try:
            result = original(*args, **kwargs)
        except BaseException:
            self._end(Failure())
            raise
        self._end(_bound(original, args, kwargs))
        return result

    def _expire(self, seconds: float) -> None:
        self._end(Failure(WaitTimeoutError(self._description, b"", seconds)))

    def _end(self, outcome: object) -> None:
        self._restore()
        if self._timer.active():
            self._timer.cancel()
        if self._watch is not None:
            self._watch.stop()
        if not self.waiter.called:
            if isinstance(outcome, Failure):
                self.waiter.errback(outcome)
            else:
                self.waiter.callback(outcome)  # type: ignore[arg-type]

    def _restore(self) -> None:
        patch, self._patch = self._patch, None
        # Put back only what is still ours: what patched over it since (or
        # restored what it had patched, under it) puts back its own.
        if patch is not None and vars(self._target).get(self._name) == self._called:
            patch.restore(self._name)

    def forget(self) -> None:
        # The test ended before the call: put the method back, and let the
        # timer go.
        self._restore()
        if self._timer.active():
            self._timer.cancel()
        if self._watch is not None:
            self._watch.stop()


def _bound(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """
    The arguments of one call (which succeeded, so they fit), by name where
    the method has a signature.
    """
    try:
        return inspect.signature(method).bind(*args, **kwargs)
    except (TypeError, ValueError):
        # No signature, or one that does not tell the truth (a decorator's).
        return _ANYTHING.bind(*args, **kwargs)


#: The signature of a method that has none to tell.
_ANYTHING = inspect.Signature(
    [
        inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
        inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
)
