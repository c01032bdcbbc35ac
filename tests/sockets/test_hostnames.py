"""
Host names where an IP literal goes: C{localhost} means one of the test's
ports, a name mapped with C{mapName()} its port, and no other name is
resolved.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.protocol import Factory
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from trialnet import NetworkTestCase, Recorder

from ..helpers import assertPassed, ipv6Missing, portNumber, sample


class ConnectByNameTests(SynchronousTestCase):
    def test_localhost(self) -> None:
        """
        C{connect(("localhost", number))} reaches the test's port with that
        number, on its loopback address, and pairs like any client.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Recorder))
            client = await case.connect(("localhost", portNumber(port)), Recorder())
            server = await case.serverProtocolFor(client, Recorder)
            client.send(b"hi")
            seen.append(await server.readBytes(2))
            assert client.transport is not None
            peer = client.transport.getPeer()
            assert isinstance(peer, IPv4Address)
            seen.append(peer.host)

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(seen, [b"hi", "127.0.0.1"])

    def test_localhostIPv6(self) -> None:
        """
        For a port listening on C{::1} only, C{localhost} means C{::1}.
        """
        hosts: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Recorder), interface="::1")
            client = await case.connect(("localhost", portNumber(port)), Recorder())
            assert client.transport is not None
            peer = client.transport.getPeer()
            assert isinstance(peer, IPv6Address)
            hosts.append(peer.host)

        missing = ipv6Missing()
        if missing:
            raise SkipTest(missing)
        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(hosts, ["::1"])

    def test_mappedName(self) -> None:
        """
        A name mapped with C{mapName()} leads C{connect()} to its port,
        whatever number it is given with.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Recorder))
            case.mapName("api.example.com", port)
            client = await case.connect(("api.example.com", 443), Recorder())
            server = await case.serverProtocolFor(client, Recorder)
            client.send(b"hi")
            seen.append(await server.readBytes(2))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(seen, [b"hi"])

    def test_otherNames(self) -> None:
        """
        Any other name is refused before anything is opened, naming what
        would have been accepted.
        """
        errors: list[str] = []

        def body(case: NetworkTestCase) -> None:
            case.listen(Factory.forProtocol(Recorder))
            try:
                case.connect(("api.example.com", 443), Recorder())
            except ValueError as error:
                errors.append(str(error))

        result = sample(body)

        assertPassed(self, result)
        (message,) = errors
        self.assertIn("localhost", message)
        self.assertIn("mapName()", message)
