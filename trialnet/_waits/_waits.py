# -*- test-case-name: tests.waits.test_waiting -*-
"""
The waits of one network, behind L{trialnet.Network}'s front: each checks
what it is given, and fails fast on a logged error when the network says so
(see L{INetwork.failFast<trialnet._interfaces.INetwork.failFast>}).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IProtocol

from .._core._defaults import DEFAULT_WAIT
from .._core._seconds import checkSeconds
from .._sockets._pairing import expectInstance
from .._sockets._registry import Registry
from ._failfast import failOnLoggedError

_T = TypeVar("_T")
_P = TypeVar("_P", bound=IProtocol)


def checkUnwrap(unwrap: object, what: str) -> None:
    """
    @raise TypeError: When C{unwrap} is not a C{bool}.
    """
    if not isinstance(unwrap, bool):
        raise TypeError(f"{what}() takes unwrap=True or unwrap=False, not {unwrap!r}")


class Waits:
    """
    Waits on the records of one network.

    """

    def __init__(self, registry: Registry, owner: Callable[[], Any]) -> None:
        """
        @param owner: A weak reference to the network.
        """
        self._registry = registry
        self._ownerReference = owner

    @property
    def owner(self) -> Any:
        """
        The network: its C{failFast} and C{waitTimeout} are read at each
        wait, as the test may change them.
        """
        return self._ownerReference()

    def serverFor(
        self, client: IProtocol, expected: type[_P] | None, unwrap: bool
    ) -> Deferred[Any]:
        if unwrap is not True and unwrap is not False:
            # Only what is not a bool is checked (and refused): shaped for
            # speed, one call fewer a wait.
            checkUnwrap(unwrap, "serverProtocolFor")
        registry = self._registry
        end = registry.endOf(client)
        if end is None or end.role != "client" or end.hostKey is None:
            raise ValueError(f"{client!r} is not a client connection of this network")
        if registry.portAt(end.peerKey) is None:
            raise ValueError(
                f"{client!r} is connected to {end.peerText}, which is not a "
                f"port of this network"
            )
        waiter = registry.pairing.serverFor(end, unwrap)
        assert waiter is not None
        return expectInstance(self._failFast(waiter), expected, "serverProtocolFor")

    def accepted(
        self, port: IListeningPort, expected: type[_P] | None, unwrap: bool
    ) -> Deferred[Any]:
        checkUnwrap(unwrap, "acceptedProtocol")
        record = self._registry.portOf(port)
        if record is None or not record.transport.stream:
            raise ValueError(
                f"acceptedProtocol() takes a stream port of this network, not {port!r}"
            )
        accepted = self._registry.pairing.accepted(record, unwrap)
        return expectInstance(self._failFast(accepted), expected, "acceptedProtocol")

    def closed(self, protocol: IProtocol) -> Deferred[None]:
        end = self._registry.endOf(protocol)
        if end is None:
            raise ValueError(
                f"whenClosed() takes a protocol this network tracks, not {protocol!r}"
            )
        waiter: Deferred[None] = Deferred()
        if end.closed or (not end.open and end.attempt is None):
            waiter.callback(None)
        else:
            end.closeWaiters.append(waiter)
        return self._failFast(waiter)

    def handshake(self, protocol: IProtocol) -> Deferred[None]:
        from ._handshake import tlsProtocolOf, whenHandshakeDone

        end = self._registry.endOf(protocol)
        tls = None if end is None or not end.open else tlsProtocolOf(end.transport)
        if tls is None:
            raise ValueError(
                f"whenHandshakeDone() takes a connected TLS protocol this network "
                f"tracks, not {protocol!r}"
            )
        waiter, wait = whenHandshakeDone(tls, self._bound(None), self._registry.reactor)
        if wait is not None:
            self._registry.addHook(wait)
        return self._failFast(waiter)

    def called(
        self, target: object, name: str, timeout: float | None
    ) -> Deferred[inspect.BoundArguments]:
        from ._calls import CallWait, checkMethod

        checkMethod(target, name)
        seconds = self._bound(timeout)
        wait = CallWait(
            target, name, seconds, self._registry.reactor, self.owner.failFast
        )
        self._registry.addHook(wait)
        return wait.waiter

    def _bound(self, timeout: float | None) -> float:
        """
        A wait's bound: C{timeout}, or the network's C{waitTimeout}, or
        L{DEFAULT_WAIT}.
        """
        if timeout is None:
            waitTimeout = self.owner.waitTimeout
            if waitTimeout is None:
                return DEFAULT_WAIT
            return checkSeconds(waitTimeout, "waitTimeout")
        return checkSeconds(timeout, "timeout")

    def _failFast(self, waiter: Deferred[_T]) -> Deferred[_T]:
        # The network read once, not through the owner property twice: every
        # wait asks it.
        owner = self._ownerReference()
        if owner.failFast:
            failOnLoggedError(waiter, self._registry.reactor, owner)
        return waiter
