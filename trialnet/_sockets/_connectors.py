# -*- test-case-name: tests.sockets.test_clients -*-
"""
A connector the code under test made itself, or adopted with C{track()},
observed on the connector instance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IAddress, IConnector
from twisted.python import log
from twisted.python.failure import Failure
from twisted.python.reflect import qual

from .._core._patch import patchable
from .._core._record import Record
from .._core._report import Leftover, Origin
from .._core._retries import retriesOf
from ._clients import ClientRegistry, stopRetrying
from ._transports import applicationFactory, applicationProtocol


class ConnectorRecord(Record):
    """
    A connector the code under test made itself (or adopted with C{track()}),
    observed on the connector instance: each protocol it builds is a client
    end, and it is settled while disconnected.
    """

    role = "client"

    def __init__(
        self,
        connector: IConnector,
        origin: Origin,
        registry: ClientRegistry,
        onSettled: Callable[[Record], None],
        observed: bool,
    ) -> None:
        super().__init__(origin, observed, onSettled)
        self.connector: Any = connector
        self._registry = registry
        self._kind = qual(type(applicationFactory(getattr(connector, "factory", None))))
        self._forced = False
        self._patch = patch = patchable(connector, "connector")
        self._originals: dict[str, Callable[..., Any]] = {}
        for name, replacement in (
            ("buildProtocol", self._buildProtocol),
            ("connectionLost", self._disconnected),
            ("connectionFailed", self._disconnected),
            ("connect", self._connect),
        ):
            original = getattr(connector, name, None)
            if original is not None:
                self._originals[name] = original
                if name in ("connectionLost", "connectionFailed"):
                    original = _retrying(connector, registry, origin, original)
                patch.set(name, _calling(original, replacement))

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def settled(self) -> bool:
        return self._forced or self._state() == "disconnected"

    @property
    def leftOpen(self) -> bool:
        return self._state() == "connecting"

    def connectedProtocol(self) -> Any:
        """
        The application's protocol of its connection, while it is connected.
        """
        if self._state() != "connected":
            return None
        protocol = getattr(getattr(self.connector, "transport", None), "protocol", None)
        return None if protocol is None else applicationProtocol(protocol)

    def _state(self) -> object:
        return getattr(self.connector, "state", "disconnected")

    def _buildProtocol(self, built: Any, addr: IAddress) -> Any:
        pairKey = self._registry.clientPairKey(addr)
        if built is None:
            return None
        try:
            # Observe the application's protocol inside TLS or an endpoint's
            # wrapper, so that it is closed through them.
            end = self._registry.newEnd(
                "client",
                self.origin,
                applicationProtocol(built),
                observed=self.observed,
                pairKey=pairKey,
            )
            end.watchConnect()
        except (TypeError, ValueError):
            log.err(None, "trialnet cannot observe a client the code under test made")
        return built

    def _disconnected(self, result: object, reason: Failure) -> object:
        self._settle()
        return result

    def _connect(self, result: object) -> object:
        self._registry.reopened(self)
        return result

    def close(self) -> None:
        stopRetrying(getattr(self.connector, "factory", None))
        if self._state() == "connecting":
            self.connector.stopConnecting()

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if self.settled:
            return leftover
        self._forced = True
        if self._state() == "connecting":
            self.connector.stopConnecting()
        return self.leftover("its connector was still connecting; it was stopped")

    def forget(self) -> None:
        self._patch.restoreAll()
        self.connector = None


def _retrying(
    connector: Any, owner: object, origin: Origin, original: Callable[..., Any]
) -> Callable[..., Any]:
    """
    A connector's C{connectionLost} or C{connectionFailed}, which tells its
    factory, that may schedule a retry for C{owner}'s teardown to cancel.
    """

    def method(*args: Any, **kwargs: Any) -> Any:
        with retriesOf(getattr(connector, "reactor", None), owner, origin):
            return original(*args, **kwargs)

    return method


def _calling(
    original: Callable[..., Any], after: Callable[..., Any]
) -> Callable[..., Any]:
    """
    A method that calls C{original}, then C{after} with what it returned and
    the same arguments, even when C{original} raised.
    """

    def call(*args: Any) -> Any:
        result = None
        try:
            result = original(*args)
        finally:
            result = after(result, *args)
        return result

    return call
