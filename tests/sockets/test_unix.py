"""
UNIX sockets: a private, short path that is gone after the teardown.
"""

from __future__ import annotations

import os
import stat
import tempfile

from twisted.internet.address import UNIXAddress
from twisted.internet.defer import maybeDeferred
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase
from trialnet._sockets._targets import MAX_SOCKET_PATH
from trialnet._sockets._transports import privateSocketPath

from ..helpers import (
    Events,
    LoggingFactory,
    assertCleanRun,
    deferLaterTurn,
    lostCounts,
    openFiles,
    recorders,
    sample,
    warmUp,
)


def socketPath(port: object) -> str:
    """
    The path a UNIX port listens on.
    """
    address = port.getHost()  # type: ignore[attr-defined]
    assert isinstance(address, UNIXAddress) and address.name is not None
    return os.fsdecode(address.name)


class PrivateDirectoryTests(SynchronousTestCase):
    """
    C{listenUNIX} puts its socket in a directory of its own.
    """

    def test_privateAndRemoved(self) -> None:
        """
        The socket's directory is readable by its owner only, its path is
        short, and after the teardown neither the socket nor the directory
        exists.
        """
        events = Events()
        serverFactory, _ = recorders(events)
        seen: list[tuple[str, int]] = []

        def body(case: NetworkTestCase) -> None:
            path = socketPath(case.listenUNIX(serverFactory))
            mode = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
            seen.append((path, mode))

        result = sample(body)

        assertCleanRun(self, result)
        ((path, mode),) = seen
        self.assertEqual(mode, 0o700)
        self.assertLessEqual(len(path.encode()), MAX_SOCKET_PATH)
        self.assertFalse(os.path.lexists(path))
        self.assertFalse(os.path.lexists(os.path.dirname(path)))

    def test_testRemovedSocketFile(self) -> None:
        """
        When the test removed the socket file itself, the port still stops
        cleanly, its socket is closed, and the directory is removed.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        paths: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUNIX(serverFactory)
            await case.connect(port, clientFactory)
            paths.append(socketPath(port))
            os.unlink(paths[0])

        warmUp()
        before = openFiles()
        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(openFiles() - before, set())
        self.assertEqual(events.count("server factory stopped"), 1)
        self.assertFalse(os.path.lexists(os.path.dirname(paths[0])))

    def test_longTemporaryDirectory(self) -> None:
        """
        When the temporary directory's path would make the socket path too
        long to bind, the directory is made under C{/tmp} instead.
        """
        deep = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, deep)
        deep = os.path.join(deep, "x" * 100)
        os.mkdir(deep)
        self.addCleanup(os.rmdir, deep)
        self.patch(tempfile, "tempdir", deep)

        path = privateSocketPath()
        self.addCleanup(os.rmdir, os.path.dirname(path))

        self.assertTrue(path.startswith("/tmp/"), path)
        self.assertLessEqual(len(path.encode()), MAX_SOCKET_PATH)


class UNIXConnectTests(SynchronousTestCase):
    """
    C{connect} reaches a UNIX port through the port or its address.
    """

    def test_connectToAddress(self) -> None:
        """
        A L{UNIXAddress} with the port's path connects like the port does,
        and L{NetworkTestCase.serverProtocolFor} pairs each client with its
        own server end.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        echoed: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUNIX(serverFactory)
            first = await case.connect(UNIXAddress(socketPath(port)), clientFactory)
            second = await case.connect(port, clientFactory)
            for client, data in ((second, b"two"), (first, b"one")):
                client.transport.write(data)  # type: ignore[attr-defined]
                echoed.append(await client.waitForData())  # type: ignore[attr-defined]
            for client, data in ((first, b"one"), (second, b"two")):
                server = await case.serverProtocolFor(client)
                case.assertEqual(server.received, data)  # type: ignore[attr-defined]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(echoed, [b"two", b"one"])
        self.assertEqual(lostCounts(events), (2, 2))


class UNIXPairingTests(SynchronousTestCase):
    """
    UNIX ends are paired in the order they connected, also around
    connections that no protocol was built for.
    """

    def test_afterRefusedClient(self) -> None:
        """
        A client factory that built no protocol still connected at the
        kernel, and its port built a server end for it: the next client is
        paired with its own server end, not that one.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        paired: list[bool] = []

        class Refuses(LoggingFactory):
            def buildProtocol(self, addr: object) -> None:  # type: ignore[override]
                return None

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUNIX(serverFactory)
            refused = case.connect(port, Refuses(events, "refused"))
            await refused.addErrback(lambda failure: None)
            while len(serverFactory.built) < 1:
                await deferLaterTurn()
            client = await case.connect(port, clientFactory)
            client.transport.write(b"mine")  # type: ignore[attr-defined]
            await client.waitForData()  # type: ignore[attr-defined]
            server = await case.serverProtocolFor(client)
            paired.append(server.received == b"mine")  # type: ignore[attr-defined]

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(len(serverFactory.built), 2)
        self.assertEqual(paired, [True])


class StopAfterRemovingTests(SynchronousTestCase):
    """
    A test that removes its socket file and stops the port itself.
    """

    def test_stopsAndReleases(self) -> None:
        """
        The test's own C{stopListening} succeeds (the reactor's would fail
        midway and keep the socket open), and no file stays open.
        """
        events = Events()
        serverFactory, _ = recorders(events)
        stopped: list[bool] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listenUNIX(serverFactory)
            os.unlink(socketPath(port))
            await maybeDeferred(port.stopListening)
            stopped.append(True)

        warmUp()
        before = openFiles()
        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(stopped, [True])
        self.assertEqual(openFiles() - before, set())
