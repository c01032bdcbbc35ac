"""
L{NetworkTestCase}: a trial test case with a L{Network} per test.
"""

from __future__ import annotations

from typing import TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort, IProtocol, IProtocolFactory
from twisted.trial.unittest import TestCase

from ._network import Network

_T = TypeVar("_T")


class NetworkTestCase(TestCase):
    """
    A trial L{TestCase} whose ports and connections close by themselves.

    The first call that opens anything makes this test's L{Network} and
    registers its L{Network.close} with C{addCleanup}, so the teardown runs
    even when C{setUp} fails later, after the cleanups the test adds itself,
    and before C{tearDown}.  A teardown that had to abort anything fails the
    test with a L{trialnet.TeardownError} naming each leftover.

    @cvar disconnectTimeout: Seconds allowed for an orderly close before the
        teardown aborts what is left.
    """

    disconnectTimeout: float = 5.0
    _trialnetNetwork: Network | None = None
    _trialnetClosed = False

    def _network(self) -> Network:
        if self._trialnetClosed:
            raise RuntimeError(
                "trialnet's teardown of this test already ran (trial runs "
                "cleanups before tearDown); open ports and connections in "
                "setUp or in the test method"
            )
        network = self._trialnetNetwork
        if network is None:
            network = Network(disconnectTimeout=self.disconnectTimeout)
            self._trialnetNetwork = network
            self.addCleanup(self._closeNetwork)
        return network

    def _closeNetwork(self) -> Deferred[None]:
        network, self._trialnetNetwork = self._trialnetNetwork, None
        self._trialnetClosed = True
        assert network is not None
        return network.close()

    def listen(
        self,
        factory: IProtocolFactory,
        port: int = 0,
        interface: str = "127.0.0.1",
        backlog: int = 50,
    ) -> IListeningPort:
        """
        Listen for TCP connections until this test's teardown; see
        L{Network.listen}.

        @return: The reactor's L{IListeningPort}.
        """
        return self._network().listen(factory, port, interface, backlog)

    def connect(
        self,
        target: object,
        factoryOrProtocol: IProtocolFactory | IProtocol,
        timeout: float = 30.0,
    ) -> Deferred[IProtocol]:
        """
        Connect a TCP client, closed at this test's teardown; see
        L{Network.connect}.

        @return: A L{Deferred} firing with the client protocol once its
            C{connectionMade} ran.
        """
        return self._network().connect(target, factoryOrProtocol, timeout)

    def serverProtocolFor(self, client: IProtocol) -> Deferred[IProtocol]:
        """
        The protocol this test's port built for the other end of C{client};
        see L{Network.serverProtocolFor}.

        @return: A L{Deferred} firing with the server protocol.
        """
        return self._network().serverProtocolFor(client)

    def track(self, thing: _T) -> _T:
        """
        Adopt a port, connector or connected protocol the code under test
        opened itself into this test's teardown; see L{Network.track}.

        @return: C{thing}.
        """
        return self._network().track(thing)
