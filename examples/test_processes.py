"""
Servers in child processes: one served by Twisted on the socket trialnet
hands over (socket activation), one that says its port, one that crashes
at start-up, and a link in front of one.  The servers are in this module
too, run as C{python -m examples.test_processes MODE}, as a project runs
its own server module.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Protocol, ServerFactory

from trialnet import NetworkTestCase, Recorder, ServerProcessError


class Echo(Protocol):
    """
    Writes back whatever it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class EchoFactory(ServerFactory):
    """
    Builds echo protocols.
    """

    protocol = Echo


# activated-start
def activated() -> None:
    """
    Serve on the socket systemd socket activation hands over.
    """
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString

    endpoint = serverFromString(reactor, "systemd:domain=INET:index=0")
    endpoint.listen(EchoFactory())
    reactor.run()


# activated-end


# prints-start
def printsPort() -> None:
    """
    Listen on a port of the kernel's choosing, and say which.
    """
    from twisted.internet import reactor

    port = reactor.listenTCP(0, EchoFactory(), interface="127.0.0.1")
    address = port.getHost()
    assert isinstance(address, IPv4Address)
    # flush: a pipe is block-buffered, and the line must arrive now.
    print(f"echo server listening on {address.host}:{address.port}", flush=True)
    reactor.run()


# prints-end


def crash() -> None:
    """
    Fail at start-up, as a server with a bad configuration does.
    """
    print("loading /etc/echo.conf", flush=True)
    raise SystemExit("echo: /etc/echo.conf: no such file")


# world-start
#: The directory that holds the examples package.  Under trial the working
#: directory is _trial_temp, so the child finds the project's modules
#: through PYTHONPATH, not through its working directory.
PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def server(mode: str) -> list[str]:
    """
    The argv of one of the project's servers: its module, run by this
    interpreter.
    """
    return [sys.executable, "-m", "examples.test_processes", mode]


def childEnvironment() -> dict[str, str]:
    """
    This process's environment, with the project on the child's path.
    """
    path = [PROJECT, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}


# world-end


class EchoServerTests(NetworkTestCase):
    """
    A project's echo server, run in a child process.
    """

    # activated-test-start
    async def test_socketActivation(self) -> None:
        """
        The child serves on a socket trialnet listens with: the port is
        known before the child runs, and there is no ready line to wait for.
        """
        child = await self.spawnServer(server("activated"), env=childEnvironment())
        client = await self.connect(child, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")

    # activated-test-end

    # ready-test-start
    async def test_readyLine(self) -> None:
        """
        A server that binds by itself is ready once it says where.
        """
        child = await self.spawnServer(
            server("printsPort"),
            readyLine=rb"listening on [0-9.]+:(?P<port>\d+)",
            env=childEnvironment(),
        )
        self.assertIn(b"listening on 127.0.0.1:%d" % child.port, child.output)
        client = await self.connect(child, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")

    # ready-test-end

    # crash-test-start
    async def test_crashAtStartup(self) -> None:
        """
        A child that exits before its ready line fails C{spawnServer()} at
        once, and the error shows its output.
        """
        starting = self.spawnServer(
            server("crash"),
            readyLine=rb"listening on [0-9.]+:(?P<port>\d+)",
            env=childEnvironment(),
        )
        with self.assertRaises(ServerProcessError) as caught:
            await starting
        self.assertEqual(caught.exception.exit, "exited with status 1")
        self.assertIn("echo: /etc/echo.conf: no such file", str(caught.exception))

    # crash-test-end

    # stop-test-start
    async def test_stopOnPurpose(self) -> None:
        """
        A child the test stops on purpose, and waits for, is not reported:
        the test passes.
        """
        child = await self.spawnServer(server("activated"), env=childEnvironment())
        client = await self.connect(child, Recorder())
        client.send(b"ping")
        await client.readBytes(4)
        os.kill(child.pid, signal.SIGTERM)
        # Twisted's reactor ends on SIGTERM, with status 0.
        self.assertEqual(await child.whenExited(), 0)

    # stop-test-end

    # link-test-start
    async def test_slowNetwork(self) -> None:
        """
        A link in front of the child delays each direction.
        """
        child = await self.spawnServer(server("activated"), env=childEnvironment())
        link = self.link(child)
        link.latency(0.05)
        client = await self.connect(link, Recorder())
        began = time.monotonic()
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")
        self.assertGreaterEqual(time.monotonic() - began, 0.1)

    # link-test-end


if __name__ == "__main__":
    {"activated": activated, "printsPort": printsPort, "crash": crash}[sys.argv[1]]()
