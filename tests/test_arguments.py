"""
Bad arguments are refused with a clear error before anything is opened.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network


class ListenArgumentTests(SynchronousTestCase):
    """
    L{Network.listen} checks its arguments before listening.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.network = Network(self.reactor)

    def assertRefused(
        self, exception: type[Exception], expected: str, **kwargs: object
    ) -> None:
        arguments: dict[str, object] = {"factory": Factory.forProtocol(Protocol)}
        arguments.update(kwargs)
        error = self.assertRaises(exception, self.network.listen, **arguments)
        self.assertIn(expected, str(error))
        self.assertEqual(self.reactor.tcpServers, [])

    def test_notAFactory(self) -> None:
        """
        A protocol class instead of a factory is a C{TypeError}.
        """
        self.assertRefused(TypeError, "protocol factory", factory=Protocol)

    def test_hostName(self) -> None:
        """
        A host name as the interface is a C{ValueError} asking for a literal.
        """
        self.assertRefused(ValueError, "IP literal", interface="localhost")

    def test_emptyInterface(self) -> None:
        """
        Twisted's C{''} (every interface) must be said explicitly.
        """
        self.assertRefused(ValueError, "'0.0.0.0'", interface="")

    def test_portOutOfRange(self) -> None:
        """
        A port number above 65535 is a C{ValueError}.
        """
        self.assertRefused(ValueError, "65535", port=70000)

    def test_portNotInt(self) -> None:
        """
        A port number given as a string is a C{TypeError}.
        """
        self.assertRefused(TypeError, "int", port="8080")

    def test_badBacklog(self) -> None:
        """
        A backlog of zero is a C{ValueError}.
        """
        self.assertRefused(ValueError, "backlog", backlog=0)

    def test_listensOnLoopbackByDefault(self) -> None:
        """
        Without an interface, the port is on 127.0.0.1 and the factory is
        the one given.
        """
        factory = Factory.forProtocol(Protocol)
        self.network.listen(factory)
        ((port, listened, backlog, interface),) = self.reactor.tcpServers
        self.assertEqual(
            (port, listened, backlog, interface), (0, factory, 50, "127.0.0.1")
        )


class ConnectArgumentTests(SynchronousTestCase):
    """
    L{Network.connect} checks its arguments before connecting.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.network = Network(self.reactor)
        self.factory = Factory.forProtocol(Protocol)

    def assertRefused(
        self, exception: type[Exception], expected: str, *args: object
    ) -> None:
        error = self.assertRaises(exception, self.network.connect, *args)
        self.assertIn(expected, str(error))
        self.assertEqual(self.reactor.tcpClients, [])

    def test_hostName(self) -> None:
        """
        A host name is a C{ValueError}: names go through a thread.
        """
        self.assertRefused(ValueError, "IP literal", ("localhost", 80), self.factory)

    def test_unknownTarget(self) -> None:
        """
        A target of an unknown kind is a C{TypeError} listing the kinds.
        """
        self.assertRefused(
            TypeError, "(host, port) tuple", "127.0.0.1:80", self.factory
        )

    def test_unixAddress(self) -> None:
        """
        A UNIX address is not a TCP target.
        """
        self.assertRefused(
            TypeError, "IPv4Address", UNIXAddress("/tmp/x"), self.factory
        )

    def test_portZero(self) -> None:
        """
        Port 0 cannot be connected to.
        """
        self.assertRefused(
            ValueError, "from 1 to 65535", ("127.0.0.1", 0), self.factory
        )

    def test_notAFactoryOrProtocol(self) -> None:
        """
        Something that is neither a factory nor a protocol is a C{TypeError}.
        """
        self.assertRefused(TypeError, "IProtocolFactory", ("127.0.0.1", 80), object())

    def test_negativeTimeout(self) -> None:
        """
        A negative timeout is a C{ValueError}.
        """
        self.assertRefused(
            ValueError, "positive", ("127.0.0.1", 80), self.factory, -1.0
        )

    def test_addressTarget(self) -> None:
        """
        An L{IPv4Address} is connected to as it says, with the timeout given.
        """
        self.network.connect(IPv4Address("TCP", "127.0.0.1", 8080), self.factory, 3.0)
        ((host, port, _, timeout, _),) = self.reactor.tcpClients
        self.assertEqual((host, port, timeout), ("127.0.0.1", 8080, 3.0))


class NetworkArgumentTests(SynchronousTestCase):
    """
    L{Network} itself checks its bound.
    """

    def test_disconnectTimeoutNotPositive(self) -> None:
        """
        A zero C{disconnectTimeout} is a C{ValueError}.
        """
        self.assertRaises(ValueError, Network, MemoryReactorClock(), 0)

    def test_trackUnknown(self) -> None:
        """
        C{track} of an object it cannot close is a C{TypeError}.
        """
        network = Network(MemoryReactorClock())
        error = self.assertRaises(TypeError, network.track, object())
        self.assertIn("IListeningPort", str(error))

    def test_trackDisconnectedProtocol(self) -> None:
        """
        C{track} of a protocol that is not connected is a C{ValueError}.
        """
        network = Network(MemoryReactorClock())
        self.assertRaises(ValueError, network.track, Protocol())
