"""
Bad arguments are refused with a clear error before anything is opened.
"""

from __future__ import annotations

import enum
import os
import tempfile

from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.defer import maybeDeferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.ssl import optionsForClientTLS
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network, NetworkTestCase
from trialnet._sockets._targets import MAX_SOCKET_PATH

from ..helpers import assertCleanRun, sample


class _Ports(enum.IntEnum):
    """
    Port numbers that are a subclass of C{int}.
    """

    HTTP = 8080


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

    def test_portBool(self) -> None:
        """
        C{True} as the port number is a C{TypeError}, although a C{bool} is an
        C{int}.
        """
        self.assertRefused(TypeError, "int", port=True)

    def test_portIntSubclass(self) -> None:
        """
        A port number of a subclass of C{int} (an C{IntEnum}'s member) is
        listened on.
        """
        self.network.listen(Factory.forProtocol(Protocol), port=_Ports.HTTP)
        ((port, _, _, interface),) = self.reactor.tcpServers
        self.assertEqual((port, interface), (8080, "127.0.0.1"))

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


class TransportArgumentTests(SynchronousTestCase):
    """
    The other transports check their arguments before opening anything.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.network = Network(self.reactor)

    def test_udpNeedsDatagramProtocol(self) -> None:
        """
        A stream factory given to C{listenUDP} is a C{TypeError}.
        """
        error = self.assertRaises(
            TypeError, self.network.listenUDP, Factory.forProtocol(Protocol)
        )
        self.assertIn("DatagramProtocol", str(error))

    def test_udpHostName(self) -> None:
        """
        C{listenUDP} wants an IP literal too.
        """
        self.assertRaises(
            ValueError, self.network.listenUDP, DatagramProtocol(), 0, "localhost"
        )

    def test_tlsServerOptionsWrongType(self) -> None:
        """
        Client options given as C{listenTLS}'s server options are a
        C{TypeError}.
        """
        error = self.assertRaises(
            TypeError,
            self.network.listenTLS,
            Factory.forProtocol(Protocol),
            options=optionsForClientTLS("localhost"),
        )
        self.assertIn("IOpenSSLServerConnectionCreator", str(error))
        self.assertEqual(self.reactor.sslServers, [])

    def test_unixNotAFactory(self) -> None:
        """
        C{listenUNIX} of a protocol class is a C{TypeError}, and no
        directory is made for it.
        """
        # A temporary directory of this test's own: other processes (trial
        # -j2's other worker) make and remove theirs in the shared one.
        private = self.mktemp()
        os.mkdir(private)
        self.patch(tempfile, "tempdir", os.path.abspath(private))
        self.assertRaises(TypeError, self.network.listenUNIX, Protocol)
        self.assertEqual(os.listdir(private), [])
        self.assertEqual(self.reactor.unixServers, [])

    def test_serverEndpointTransport(self) -> None:
        """
        An unknown transport for C{serverEndpoint} is a C{ValueError} listing
        the known ones.
        """
        error = self.assertRaises(ValueError, self.network.serverEndpoint, "sctp")
        self.assertIn("'tcp', 'tls' or 'unix'", str(error))

    def test_clientEndpointChecksTarget(self) -> None:
        """
        C{clientEndpoint} checks its target when it is made, not when the
        code under test connects through it.
        """
        self.assertRaises(ValueError, self.network.clientEndpoint, ("localhost", 80))
        self.assertRaises(TypeError, self.network.clientEndpoint, "127.0.0.1:80")
        self.assertRaises(
            TypeError, self.network.clientEndpoint, ("127.0.0.1", 80), 3.0, object()
        )

    def test_waitsForUnknown(self) -> None:
        """
        C{whenClosed} of a protocol and C{acceptedProtocol} of a port that
        the network does not track are C{ValueError}s.
        """
        self.assertRaises(ValueError, self.network.whenClosed, Protocol())
        # A port of another reactor: one the code under test opens on the
        # network's own reactor joins the network.
        port = MemoryReactorClock().listenTCP(0, Factory.forProtocol(Protocol))
        self.assertRaises(ValueError, self.network.acceptedProtocol, port)


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
        A host name is a C{ValueError} (names go through a thread), and so
        is C{localhost} with a number none of the network's ports has.
        """
        self.assertRefused(ValueError, "IP literal", ("example.com", 80), self.factory)
        self.assertRefused(
            ValueError,
            "not a port this test listens on",
            ("localhost", 80),
            self.factory,
        )

    def test_unknownTarget(self) -> None:
        """
        A target of an unknown kind is a C{TypeError} listing the kinds.
        """
        self.assertRefused(
            TypeError, "(host, port) tuple", "127.0.0.1:80", self.factory
        )

    def test_unixAddress(self) -> None:
        """
        A L{UNIXAddress} is connected to over a UNIX socket.
        """
        self.network.connect(UNIXAddress("/tmp/x"), self.factory, 3.0)
        ((path, _, timeout, _),) = self.reactor.unixClients
        self.assertEqual((path, timeout), ("/tmp/x", 3.0))

    def test_unixPathTooLong(self) -> None:
        """
        A UNIX path longer than the platform can connect to is a
        C{ValueError} that says how long it may be.
        """
        error = self.assertRaises(
            ValueError,
            self.network.connect,
            UNIXAddress("/tmp/" + "x" * 200),
            self.factory,
        )
        self.assertIn(f"1 to {MAX_SOCKET_PATH} bytes", str(error))
        self.assertEqual(self.reactor.unixClients, [])

    def test_tlsOptionsWrongType(self) -> None:
        """
        Server options where client options are expected are a C{TypeError}.
        """
        self.assertRefused(
            TypeError,
            "IOpenSSLClientConnectionCreator",
            ("127.0.0.1", 80),
            self.factory,
            3.0,
            object(),
        )

    def test_tlsOptionsWithEndpoint(self) -> None:
        """
        TLS options do not apply to an endpoint, which has its own.
        """
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", 80)
        options = optionsForClientTLS("localhost")
        self.assertRefused(
            ValueError, "wrapClientTLS", endpoint, self.factory, 3.0, options
        )

    def test_portZero(self) -> None:
        """
        Port 0 cannot be connected to.
        """
        self.assertRefused(
            ValueError, "from 1 to 65535", ("127.0.0.1", 0), self.factory
        )

    def test_portBool(self) -> None:
        """
        C{True} as the target's port number is a C{TypeError}, and a port
        number of a subclass of C{int} is connected to.
        """
        self.assertRefused(TypeError, "int", ("127.0.0.1", True), self.factory)
        self.network.connect(("127.0.0.1", _Ports.HTTP), self.factory)
        ((host, port, _, _, _),) = self.reactor.tcpClients
        self.assertEqual((host, port), ("127.0.0.1", 8080))

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


class StoppedPortTests(SynchronousTestCase):
    """
    A port that stopped for good is refused as a target, over real sockets.
    """

    def test_connectToStoppedPort(self) -> None:
        """
        C{connect} to a port that finished stopping is a C{ValueError} that
        says it is not listening, and the test still passes clean.
        """
        errors: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Protocol))
            await maybeDeferred(port.stopListening)
            try:
                case.connect(port, Factory.forProtocol(Protocol))
            except ValueError as e:
                errors.append(str(e))

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(len(errors), 1)
        self.assertIn("not listening", errors[0])
