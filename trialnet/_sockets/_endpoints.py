# -*- test-case-name: tests.sockets.test_endpoints -*-
"""
Endpoints whose ports and connections join a L{trialnet.Network}'s teardown,
for code under test that takes endpoints rather than addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)
from zope.interface import implementer


@implementer(IStreamClientEndpoint)
@dataclass(eq=False)
class TrackingClientEndpoint:
    """
    A client endpoint whose every connection is tracked.

    @ivar target: What each connection goes to: anything
        L{trialnet.INetworkOpening.connect} takes.
    @ivar timeout: Seconds each connection attempt may take.
    @ivar tlsOptions: Client TLS options, or C{None}.
    @ivar owner: The network that tracks its connections.
    """

    _connect: Callable[[IProtocolFactory], Deferred[IProtocol]]
    target: object
    timeout: float
    tlsOptions: object
    owner: object

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect, as L{trialnet.INetworkOpening.connect} does.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} firing with the protocol
            after its C{connectionMade}, or failing (also when the teardown has begun).
        """
        try:
            return self._connect(protocolFactory)
        except Exception:
            return fail()

    def __repr__(self) -> str:
        return f"<trialnet client endpoint to {self.target!r}>"


@implementer(IStreamServerEndpoint)
@dataclass(eq=False)
class TrackingServerEndpoint:
    """
    A server endpoint whose every port, and every connection it accepts, is
    tracked.

    @ivar owner: The network that tracks its ports.
    """

    _listen: Callable[[IProtocolFactory], IListeningPort | Deferred[IListeningPort]]
    _description: str
    owner: object

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen, tracked.

        @return: A L{Deferred<twisted.internet.defer.Deferred>} firing with the
            L{IListeningPort<twisted.internet.interfaces.IListeningPort>}, or failing.
        """
        try:
            port: Any = self._listen(protocolFactory)
        except Exception:
            return fail()
        if isinstance(port, Deferred):
            return port
        return succeed(port)

    def __repr__(self) -> str:
        return f"<trialnet server endpoint: {self._description}>"
