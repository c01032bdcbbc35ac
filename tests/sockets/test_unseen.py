"""
Code under test meeting the scan after C{tearDown}: sockets opened through
reactor methods captured at import (FTP's data connections among them); a
child process started through C{spawnProcess} captured at import, left
running; a selectable whose every attribute fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from typing import Any

from twisted.cred.checkers import AllowAnonymousAccess
from twisted.cred.portal import Portal
from twisted.internet import reactor
from twisted.internet.abstract import FileDescriptor
from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone
from twisted.internet.interfaces import IConnector
from twisted.internet.protocol import (
    Factory,
    ProcessProtocol,
    Protocol,
    ServerFactory,
)
from twisted.protocols.ftp import (
    FTPClient,
    FTPFactory,
    FTPFileListProtocol,
    FTPRealm,
)
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase
from twisted.trial.util import DirtyReactorAggregateError

from trialnet import NetworkTestCase

from ..helpers import (
    Events,
    LoggingFactory,
    assertCleanRun,
    errorTypes,
    errorValues,
    openFiles,
    portNumber,
    refuses,
    runSample,
    socketsInReactor,
    warmUp,
)
from .test_untracked import rawPort


class CapturingControl(Protocol):
    """
    A control connection that, like C{twisted.protocols.ftp}'s, opens a data
    port and a data connection through reactor methods captured when this
    module was imported (which observing the reactor's methods during a test
    does not reach), and closes both when it is itself lost.
    """

    # Bound at import, as ftp.FTP.listenFactory and FTPClient.connectFactory.
    listenFactory = reactor.listenTCP
    connectFactory = reactor.connectTCP

    factory: CapturingFactory

    def connectionMade(self) -> None:
        events = self.factory.events
        self.dataPort = self.listenFactory(
            0, LoggingFactory(events, "data"), interface="127.0.0.1"
        )
        dataClient = _NotifyingFactory(events, self.factory.dataConnected)
        self.connector: IConnector = self.connectFactory(
            "127.0.0.1", portNumber(self.dataPort), dataClient
        )

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.dataPort.stopListening()
        self.connector.disconnect()


class CapturingFactory(ServerFactory):
    """
    Builds L{CapturingControl}s.

    @ivar dataConnected: Fires when the data connection is made.
    """

    def __init__(self, events: Events) -> None:
        self.events = events
        self.dataConnected: Deferred[None] = Deferred()

    def buildProtocol(self, addr: object) -> CapturingControl:  # type: ignore[override]
        protocol = CapturingControl()
        protocol.factory = self
        return protocol


class _NotifyingFactory(LoggingFactory):
    """
    Builds data clients, and fires a Deferred when one connected.
    """

    def __init__(self, events: Events, connected: Deferred[None]) -> None:
        super().__init__(events, "data")
        self._connected = connected

    def buildProtocol(self, addr: object) -> Protocol:
        protocol = super().buildProtocol(addr)
        # Told once the protocol's connectionMade ran, a turn later.
        reactor.callLater(0, self._connected.callback, None)
        return protocol


class CapturedMethodsTests(SynchronousTestCase):
    """
    Sockets opened through reactor methods captured before the test.
    """

    def test_capturedReactorMethods(self) -> None:
        """
        Connections a protocol opens through reactor methods it captured at
        import (as C{twisted.protocols.ftp} does), and closes itself when
        its own connection is lost, are waited for after the test, which
        passes, with strict cleanup too: their close was under way.
        """
        warmUp()
        before = openFiles()
        for strict in (False, True):
            events = Events()

            class Sample(NetworkTestCase):
                strictCleanup = strict
                log = events

                async def test_it(self) -> None:
                    factory = CapturingFactory(self.log)
                    port = self.listen(factory)
                    await self.connect(port, Factory.forProtocol(Protocol))
                    await factory.dataConnected

            result = runSample(Sample)

            assertCleanRun(self, result)
            self.assertEqual(events.count("data lost"), 2)
            # The data port's factory, and the data client's.
            self.assertEqual(events.count("data factory stopped"), 2)
            self.assertEqual(socketsInReactor(), set())
            self.assertEqual(openFiles() - before, set())


class _Collect(Protocol):
    """
    Keeps what a data connection brings.
    """

    def __init__(self) -> None:
        self.data = b""

    def dataReceived(self, data: bytes) -> None:
        self.data += data


class _FTPSample(NetworkTestCase):
    """
    An FTP server with an anonymous portal over a temporary directory, and
    an C{FTPClient}, as a ported FTP test has them.
    """

    passive = True

    async def connectClient(self) -> FTPClient:
        # Not mktemp(): under pytest that lands in the working directory.
        root = FilePath(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, root.path)
        root.child("hello.txt").setContent(b"hello ftp\n")
        portal = Portal(
            FTPRealm(anonymousRoot=root.path, userHome=root.path),
            [AllowAnonymousAccess()],
        )
        port = self.listen(FTPFactory(portal))
        client: FTPClient = await self.connect(port, FTPClient(passive=self.passive))
        return client


class FTPTests(SynchronousTestCase):
    """
    C{twisted.protocols.ftp}, whose data ports and connections are opened
    through reactor methods it captured at import.
    """

    def assertPassesClean(
        self, case: type[_FTPSample], modes: tuple[bool, ...] = (True, False)
    ) -> None:
        """
        Assert a sample passes with no report and leaves nothing open, in
        each of C{modes} (passive or not).
        """
        warmUp()
        before = openFiles()
        for passive in modes:
            case.passive = passive
            assertCleanRun(self, runSample(case))
            self.assertEqual(socketsInReactor(), set())
            self.assertEqual(openFiles() - before, set())

    def test_transfers(self) -> None:
        """
        A retrieve and a listing, passive and active, pass with no report and
        leave nothing open.
        """

        class Transfers(_FTPSample):
            async def test_it(self) -> None:
                client = await self.connectClient()
                sink = _Collect()
                await client.retrieveFile("hello.txt", sink)
                listing = FTPFileListProtocol()
                await client.list(".", listing)
                self.assertEqual(sink.data, b"hello ftp\n")
                self.assertEqual([f["filename"] for f in listing.files], ["hello.txt"])

        self.assertPassesClean(Transfers)

    def test_uploadUnderWayAtTheEnd(self) -> None:
        """
        A test that ends during a passive upload passes with no report: the
        data connections FTP opened through its captured reactor methods, and
        closes when its control connection is lost, are waited for, and
        nothing is left open.
        """

        class UploadUnderWay(_FTPSample):
            async def test_it(self) -> None:
                client = await self.connectClient()
                consumer, done = client.storeFile("up.txt")
                # The test ends with the upload under way: the control
                # connection's loss fails it.
                done.addErrback(lambda failure: None)
                sender = await consumer
                sender.transport.write(b"partial upload")

        # Passive only: cut during an active upload, FTPClient's
        # SenderProtocol fires its Deferred a second time (AlreadyCalledError,
        # Twisted's own, whoever closes the connections).
        self.assertPassesClean(UploadUnderWay, modes=(True,))


class _Sleeper(ProcessProtocol):
    """
    A child process's protocol, holding its transport for the test to end
    it.
    """

    transport: Any = None


#: Bound at import, as ftp captures listenTCP: observing the reactor's
#: methods during a test does not reach it.  Taken from the class, so that
#: whatever an earlier test left on the reactor's instance is not captured.
_capturedSpawn = type(reactor).spawnProcess.__get__(reactor)


class ProcessLeftTests(SynchronousTestCase):
    """
    A child process trialnet could not see started (through a
    C{spawnProcess} captured at import) and left running: named by trial,
    as without trialnet, and nothing of trialnet's fails on its pipes.
    (One started through the reactor during the test is stopped by the
    teardown: see L{tests.processes}.)
    """

    def test_childLeftRunning(self) -> None:
        """
        A child process spawned through a C{spawnProcess} captured at import
        and left running is left to trial, whose dirty-reactor error is the
        test's only error (no C{NotImplementedError} from its pipes); a port
        left beside it is still stopped.
        """
        protocol = _Sleeper()
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                _capturedSpawn(
                    protocol,
                    sys.executable,
                    [sys.executable, "-c", "import time; time.sleep(30)"],
                    env=None,
                )
                numbers.append(portNumber(rawPort()))

        result = runSample(Sample)
        _endChild(protocol.transport)

        self.assertEqual(errorTypes(result), [DirtyReactorAggregateError])
        self.assertIn("Process", str(errorValues(result)[0]))
        self.assertTrue(refuses(numbers[0]))


def _endChild(process: Any) -> None:
    """
    Kill a child whose pipes trial's janitor took out of the reactor, wait
    until it died, close its pipes and reap it (Twisted reaps it once its
    pipes are closed): no process or zombie is left.
    """
    pid = process.pid
    process.signalProcess("KILL")
    # Wait without reaping: Twisted's own reaping finds it dead.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    for pipe in list(process.pipes.values()):
        pipe.connectionLost(Failure(ProcessDone(0)))
    assert process.pid is None, f"child {pid} was not reaped"
    assert not os.path.exists(f"/proc/{pid}"), f"child {pid} is still there"


class _Strange(FileDescriptor):
    """
    A socket in the reactor whose every question fails.
    """

    def __init__(self, handle: socket.socket) -> None:
        super().__init__()
        self.handle = handle
        self.protocol = Protocol()

    def fileno(self) -> int:
        return self.handle.fileno()

    def doRead(self) -> None:
        pass

    @property
    def disconnecting(self) -> bool:  # type: ignore[override]
        raise RuntimeError("a strange selectable")


class StrangeSelectableTests(SynchronousTestCase):
    """
    The scan is guarded: what fails on one selectable is logged and the
    rest still runs.
    """

    def test_strangeSelectable(self) -> None:
        """
        A socket selectable whose attributes raise is named in a logged
        error (the test's) and left to trial, while a port found beside it
        is still stopped.
        """
        from twisted.internet import reactor

        ends = socket.socketpair()
        self.addCleanup(ends[1].close)
        self.addCleanup(ends[0].close)
        strange = _Strange(ends[0])
        self.addCleanup(reactor.removeReader, strange)
        numbers: list[int] = []

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                reactor.addReader(strange)
                numbers.append(portNumber(rawPort()))

        result = runSample(Sample)

        # The guard's logged error, then trial's janitor naming what was
        # left to it.
        self.assertEqual(errorTypes(result), [RuntimeError, DirtyReactorAggregateError])
        self.assertIn("_Strange", str(errorValues(result)[1]))
        self.assertTrue(refuses(numbers[0]))
