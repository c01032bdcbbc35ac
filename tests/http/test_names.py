"""
C{mapName()}: a host name leads to one of this test's ports through the
reactor's name resolvers, its connections join the teardown, and the
resolvers are put back after the test (the certificate: C{test_tlsNames}).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
    IResolverSimple,
)
from twisted.internet.protocol import DatagramProtocol, Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from zope.interface import implementer
from zope.interface.verify import verifyObject

from trialnet import Network, NetworkTestCase

from ..helpers import (
    Events,
    LoggingFactory,
    assertPassed,
    ipv6Missing,
    portNumber,
    problemsOf,
    sample,
    socketsInReactor,
)


class Host(Resource):
    """
    Answers with the C{Host} header it was asked with, and whether the
    request came over TLS.
    """

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        scheme = b"https" if request.isSecure() else b"http"
        return scheme + b" " + (request.getHeader(b"host") or b"")


def quietSite() -> Site:
    site = Site(Host())
    site.noisy = False
    return site


def reactorResolvers() -> tuple[object, object]:
    """
    The reactor's name resolver and simple resolver now.
    """
    from twisted.internet import reactor

    return reactor.nameResolver, reactor.resolver  # type: ignore[attr-defined]


@implementer(IResolutionReceiver)
class Receiver:
    """
    Collects what a name resolver delivers.
    """

    def __init__(self) -> None:
        self.addresses: list[IAddress] = []
        self.complete = False

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        verifyObject(IHostResolution, resolutionInProgress)

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete = True


def resolve(name: str, **options: Any) -> Receiver:
    """
    Resolve C{name} with the reactor's name resolver, which must answer at
    once.
    """
    from twisted.internet import reactor

    receiver = Receiver()
    reactor.nameResolver.resolveHostName(receiver, name, **options)  # type: ignore[attr-defined]
    return receiver


@implementer(IHostResolution)
class Resolution:
    """
    A resolution that is over when it begins.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        pass


@implementer(IHostnameResolver, IResolverSimple)
class Previous:
    """
    A resolver installed before the test, that records what it is asked
    and resolves every name to C{10.0.0.1}.
    """

    def __init__(self) -> None:
        self.asked: list[str] = []

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: object = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        self.asked.append(hostName)
        resolution = Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        resolutionReceiver.addressResolved(IPv4Address("TCP", "10.0.0.1", portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution

    def getHostByName(self, name: str, timeout: object = ()) -> Deferred[str]:
        self.asked.append(name)
        return succeed("10.0.0.1")


async def fetch(agent: Any, url: bytes) -> bytes:
    response = await agent.request(b"GET", url)
    body: bytes = await readBody(response)
    return body


class ResolverTests(SynchronousTestCase):
    """
    The reactor's resolvers find a mapped name while the test runs, and
    only then.
    """

    def test_agentOverHTTP(self) -> None:
        """
        An C{Agent} the code under test makes itself reaches the mapped port
        at C{http://api.example.com/}, port 80 as it thinks, and asks with
        its own C{Host} header.
        """
        bodies: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(quietSite())
            case.mapName("api.example.com", port)
            bodies.append(await fetch(Agent(reactor), b"http://api.example.com/"))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(bodies, [b"http api.example.com"])

    def test_resolvesToThePort(self) -> None:
        """
        The name resolver gives the port's address and number, whatever
        number it was asked for, case-insensitively and with or without a
        final dot; nothing for UDP.
        """
        found: list[object] = []

        def body(case: NetworkTestCase) -> None:
            port = case.listen(quietSite())
            case.mapName("API.example.com", port)
            expected = IPv4Address("TCP", "127.0.0.1", portNumber(port))
            for name in ("api.example.com", "Api.Example.Com."):
                receiver = resolve(name, portNumber=443)
                found.append(receiver.addresses == [expected] and receiver.complete)
            found.append(resolve("api.example.com", addressTypes=[IPv6Address]))
            found.append(resolve("api.example.com", transportSemantics="UDP"))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(found[:2], [True, True])
        for receiver in found[2:]:
            assert isinstance(receiver, Receiver)
            self.assertEqual((receiver.addresses, receiver.complete), ([], True))

    def test_connectionsJoinTheTeardown(self) -> None:
        """
        A connection the code under test opens through the name, and leaves
        open, is closed by the teardown like its own; with C{strictCleanup}
        it is reported.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(LoggingFactory(events, "server"))
            case.mapName("db.internal", port)
            endpoint = HostnameEndpoint(reactor, "db.internal", 5432)
            await endpoint.connect(LoggingFactory(events, "client"))

        before = socketsInReactor()
        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(
            (events.count("client lost"), events.count("server lost")), (1, 1)
        )
        self.assertEqual(socketsInReactor(), before)

        strict = sample(body, strictCleanup=True)
        (problem,) = problemsOf(strict)
        self.assertIn("left open by the code under test", problem)

    def test_simpleResolver(self) -> None:
        """
        C{reactor.resolve} gives the port's address, so
        C{reactor.connectTCP(name, number)} reaches the port when the number
        is the port's own.
        """
        events = Events()
        addresses: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(LoggingFactory(events, "server"))
            case.mapName("api.example.com", port)
            addresses.append(await reactor.resolve("api.example.com"))
            reactor.connectTCP(
                "api.example.com", portNumber(port), LoggingFactory(events, "client")
            )
            await case.acceptedProtocol(port)

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(addresses, ["127.0.0.1"])
        self.assertEqual(events.count("server lost"), 1)

    def test_otherNamesAsBefore(self) -> None:
        """
        A name nobody mapped goes to the resolvers installed before, both
        the name resolver and C{reactor.resolve}.
        """
        from twisted.internet import reactor

        previous = Previous()
        saved = reactorResolvers()
        reactor.installNameResolver(previous)  # type: ignore[attr-defined]
        vars(reactor)["resolver"] = previous
        self.addCleanup(self._putBack, saved)
        found: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            case.mapName("api.example.com", case.listen(quietSite()))
            found.append(resolve("other.example.com", portNumber=80).addresses)
            found.append(await reactor.resolve("other.example.com"))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(
            found, [[IPv4Address("TCP", "10.0.0.1", 80)], "10.0.0.1"], found
        )
        self.assertEqual(previous.asked, ["other.example.com"] * 2)
        self.assertEqual(reactorResolvers(), (previous, previous))

    def _putBack(self, saved: tuple[object, object]) -> None:
        from twisted.internet import reactor

        vars(reactor)["_nameResolver"], vars(reactor)["resolver"] = saved

    def test_restoredAfterFailure(self) -> None:
        """
        After a test that mapped a name and failed, or passed, the reactor
        has the very resolvers it had, and the name is no longer mapped.
        """
        before = reactorResolvers()

        def failing(case: NetworkTestCase) -> None:
            case.mapName("api.example.com", case.listen(quietSite()))
            self.assertNotEqual(reactorResolvers(), before)
            case.fail("the code under test is broken")

        result = sample(failing)

        self.assertEqual(len(result.failures), 1, problemsOf(result))
        self.assertEqual(result.errors, [])
        self.assertIs(reactorResolvers()[0], before[0])
        self.assertIs(reactorResolvers()[1], before[1])

        passing = sample(lambda case: case.mapName("a.test", case.listen(quietSite())))
        assertPassed(self, passing)
        self.assertEqual(reactorResolvers(), before)

    def test_someoneElsesResolverKept(self) -> None:
        """
        A resolver the test installed over trialnet's is left in place.
        """
        from twisted.internet import reactor

        saved = reactorResolvers()
        self.addCleanup(self._putBack, saved)
        previous = Previous()

        def body(case: NetworkTestCase) -> None:
            case.mapName("api.example.com", case.listen(quietSite()))
            reactor.installNameResolver(previous)  # type: ignore[attr-defined]

        assertPassed(self, sample(body))
        self.assertIs(reactor.nameResolver, previous)  # type: ignore[attr-defined]

    def test_innermostWins(self) -> None:
        """
        Two networks mapping one name: the one made last wins until it
        closes, then the first one's mapping holds, until it closes too.
        """
        before = reactorResolvers()
        outer, inner = Network(), Network()
        first, second = outer.listen(quietSite()), inner.listen(quietSite())
        outer.mapName("api.example.com", first)
        inner.mapName("api.example.com", second)

        def mapped() -> list[int]:
            return [
                address.port  # type: ignore[attr-defined]
                for address in resolve("api.example.com").addresses
            ]

        self.assertEqual(mapped(), [portNumber(second)])
        closed: list[object] = []
        inner.close().addBoth(closed.append)
        self.successResultOf(self._spin(closed))
        self.assertEqual(mapped(), [portNumber(first)])
        outer.close().addBoth(closed.append)
        self.successResultOf(self._spin(closed, 2))
        self.assertEqual(closed, [None, None])
        self.assertEqual(reactorResolvers(), before)

    def _spin(self, closed: list[object], count: int = 1) -> Deferred[None]:
        from twisted.internet import reactor

        while len(closed) < count:
            reactor.iterate(0.01)
        return succeed(None)

    def test_mappedDuringTeardown(self) -> None:
        """
        While the teardown closes the connections, the name still leads to
        the test's port: code under test that reconnects then does not
        reach the real host.
        """
        found: list[list[IAddress]] = []
        expected: list[list[IAddress]] = []

        class Resolving(Protocol):
            def connectionLost(self, reason: Failure = connectionDone) -> None:
                found.append(resolve("api.example.com").addresses)

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(quietSite())
            case.mapName("api.example.com", port)
            expected.append([IPv4Address("TCP", "127.0.0.1", portNumber(port))])
            await case.connect(port, Resolving())

        assertPassed(self, sample(body))
        self.assertEqual(found, expected)

    def test_mappedAgain(self) -> None:
        """
        Mapping a name again moves it to the new port.
        """
        found: list[list[int]] = []

        def body(case: NetworkTestCase) -> None:
            first, second = case.listen(quietSite()), case.listen(quietSite())
            case.mapName("api.example.com", first)
            case.mapName("api.example.com", second)
            addresses = resolve("api.example.com").addresses
            found.append([a.port for a in addresses])  # type: ignore[attr-defined]
            found.append([portNumber(second)])

        assertPassed(self, sample(body))
        self.assertEqual(found[0], found[1])

    def test_ipv6(self) -> None:
        """
        A name mapped to a port on C{::1} resolves to an IPv6 address, which
        C{reactor.resolve} refuses to give, naming what can; a port on every
        interface is reached through loopback.
        """
        if ipv6Missing():
            raise self.skipTest(ipv6Missing())
        found: list[list[IAddress]] = []
        expected: list[list[IAddress]] = []

        def body(case: NetworkTestCase) -> None:
            six = case.listen(quietSite(), interface="::1")
            every = case.listen(quietSite(), interface="0.0.0.0")
            case.mapName("six.test", six)
            case.mapName("every.test", every)
            found.append(resolve("six.test").addresses)
            found.append(resolve("every.test").addresses)
            expected.append([IPv6Address("TCP", "::1", portNumber(six))])
            expected.append([IPv4Address("TCP", "127.0.0.1", portNumber(every))])
            reactor.resolve("six.test").addErrback(simple.append)

        from twisted.internet import reactor

        simple: list[Failure] = []
        assertPassed(self, sample(body))
        self.assertEqual(found, expected)
        (failure,) = simple
        self.assertIsInstance(failure.value, DNSLookupError)
        self.assertIn("HostnameEndpoint", str(failure.value))


class BadInputTests(SynchronousTestCase):
    """
    C{mapName()} refuses what it cannot map, naming what it expected.
    """

    def test_badInput(self) -> None:
        """
        A name that is not a string, an IP literal, an invalid host name, a
        port of another test, a UDP or UNIX port, or no port at all.
        """
        raised: list[tuple[type[Exception], str]] = []

        def body(case: NetworkTestCase) -> None:
            port = case.listen(quietSite())
            other = Network()
            try:
                foreign = other.listen(quietSite())
                cases: list[tuple[object, object]] = [
                    (b"api.example.com", port),
                    (None, port),
                    ("127.0.0.1", port),
                    ("::1", port),
                    ("[::1]", port),
                    ("bad_name.example.com", port),
                    ("-x.example.com", port),
                    ("a" * 64 + ".com", port),
                    ("api..example.com", port),
                    ("", port),
                    ("api.example.com", foreign),
                    ("api.example.com", case.listenUDP(DatagramProtocol())),
                    ("api.example.com", case.listenUNIX(quietSite())),
                    ("api.example.com", 8080),
                ]
                for name, target in cases:
                    try:
                        case.mapName(name, target)  # type: ignore[arg-type]
                    except (TypeError, ValueError) as e:
                        raised.append((type(e), str(e)))
            finally:
                other.close()

        assertPassed(self, sample(body))
        kinds = [kind for kind, _ in raised]
        self.assertEqual(
            kinds, [TypeError] * 2 + [ValueError] * 11 + [TypeError], raised
        )
        for _, message in raised[:10]:
            self.assertIn("host name", message)
        self.assertIn("IP literal", raised[2][1])
        self.assertIn("port of this test", raised[10][1])
        self.assertIn("UDP", raised[11][1])
        self.assertIn("UNIX", raised[12][1])
        self.assertIn("listening port", raised[13][1])

    def test_nothingMappedOnError(self) -> None:
        """
        A refused mapping leaves the reactor's resolvers alone.
        """
        before = reactorResolvers()
        seen: list[object] = []

        def body(case: NetworkTestCase) -> None:
            with self.assertRaises(ValueError):
                case.mapName("127.0.0.1", case.listen(quietSite()))
            seen.append(reactorResolvers())

        assertPassed(self, sample(body))
        self.assertEqual(seen, [before])
