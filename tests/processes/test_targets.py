"""
A server child is a target wherever a port is: C{connect},
C{clientEndpoint}, C{url}, C{agent}, C{mapName} and C{link}; under
L{trialnet.Network} too.
"""

from __future__ import annotations

import sys

from twisted.internet.endpoints import connectProtocol
from twisted.trial.unittest import TestCase
from twisted.web.client import readBody

from trialnet import Network, NetworkTestCase, Recorder, ServerProcess

from .children import argv

#: Python's own HTTP server, which binds by itself and says where.
HTTP_SERVER = [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"]
HTTP_READY = rb"Serving HTTP on (?P<host>[0-9.]+) port (?P<port>\d+)"


class TargetTests(NetworkTestCase):
    """
    Each way to reach a port reaches a server child.
    """

    async def echoServer(self) -> ServerProcess:
        return await self.spawnServer(argv("printsPort"), rb"on [0-9.]+:(?P<port>\d+)")

    async def test_clientEndpoint(self) -> None:
        """
        An endpoint of the network connects to the child.
        """
        server = await self.echoServer()
        client = await connectProtocol(self.clientEndpoint(server), Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")

    async def test_urlAndAgent(self) -> None:
        """
        C{url()} gives the child's URL, and the network's agent fetches it.
        """
        server = await self.spawnServer(HTTP_SERVER, HTTP_READY)
        self.assertEqual(self.url(server, "/x"), f"http://127.0.0.1:{server.port}/x")
        response = await self.agent().request(b"GET", self.url(server))
        self.assertEqual(response.code, 200)
        self.assertIn(b"Directory listing", await readBody(response))

    async def test_mapName(self) -> None:
        """
        A name mapped to the child leads to it.
        """
        server = await self.spawnServer(HTTP_SERVER, HTTP_READY)
        self.mapName("api.example.com", server)
        response = await self.agent().request(b"GET", b"http://api.example.com/")
        self.assertEqual(response.code, 200)
        await readBody(response)

    async def test_link(self) -> None:
        """
        A link in front of the child relays to it, with its conditions.
        """
        server = await self.echoServer()
        link = self.link(server, seed=1)
        link.slice(1, gap=0.0)
        client = await self.connect(link, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")
        self.assertIn(f"127.0.0.1:{server.port}", repr(link))

    async def test_linkToAnEndedChild(self) -> None:
        """
        A link to a child that ended is refused, naming how it ended.
        """
        server = await self.spawnServer(argv("crash"))
        await server.whenExited()
        error = self.assertRaises(ValueError, self.link, server)
        self.assertIn("exited with status 1", str(error))


class NetworkTests(TestCase):
    """
    A L{Network} outside a test case spawns servers too.
    """

    async def test_network(self) -> None:
        """
        A network's server child is reached, and its teardown passes.
        """
        network = Network()
        try:
            server = await network.spawnServer(argv("activated"))
            client = await network.connect(server, Recorder())
            client.send(b"ping")
            self.assertEqual(await client.readBytes(4), b"ping")
        finally:
            await network.close()
