"""
C{spawnServer()} with real children: socket activation (a real Twisted
server on the inherited socket), ready lines, failing fast before the
child is ready, and a child that ends during the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessTerminated
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from trialnet import (
    ClosedWhileWaitingError,
    NetworkTestCase,
    Recorder,
    ServerProcess,
    ServerProcessError,
    TeardownError,
)
from trialnet._core._report import userOrigin
from trialnet._processes._server import ServerWatch, Watch
from trialnet._processes._stopping import exiting

from ..helpers import errorValues, refuses, sample, teardownError
from .children import argv
from .helpers import failureOf, untilExited

#: The interpreter, for children the tests start without trialnet.
_PYTHON = sys.executable


class ActivationTests(NetworkTestCase):
    """
    By default the child serves on a socket trialnet listens with, handed
    over by systemd socket activation.
    """

    async def test_twistedServesOnTheSocket(self) -> None:
        """
        A Twisted server using the C{systemd:} endpoint serves on the socket
        the child inherits: bytes sent come back.
        """
        server = await self.spawnServer(argv("activated"))
        self.assertIsInstance(server, ServerProcess)
        self.assertEqual(server.host, "127.0.0.1")
        client = await self.connect(server, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")
        self.assertIsNone(server.returncode)

    async def test_theChildsWorld(self) -> None:
        """
        The child inherits this process's environment and working directory,
        leads its own session and process group, and finds C{LISTEN_PID}
        equal to its own pid (whatever the runner inherited).
        """
        os.environ["TRIALNET_MARKER"] = "inherited"
        os.environ["LISTEN_PID"] = "1"
        try:
            server = await self.spawnServer(argv("environment"))
        finally:
            del os.environ["TRIALNET_MARKER"], os.environ["LISTEN_PID"]
        client = await self.connect(server, Recorder())
        client.send(b"x")
        await client.readBytes(1)
        pid = server.pid
        self.assertEqual(
            server.output.decode(),
            f"cwd={os.getcwd()} marker=inherited pid={pid} listenPid={pid} "
            f"names=trialnet pgid={pid} sid={pid}\n",
        )

    async def test_envAndPath(self) -> None:
        """
        C{env} is the child's whole environment and C{path} its working
        directory.
        """
        directory = os.path.abspath(self.mktemp())
        os.mkdir(directory)
        env = {"TRIALNET_MARKER": "given", "PATH": os.environ.get("PATH", "")}
        server = await self.spawnServer(argv("environment"), env=env, path=directory)
        client = await self.connect(server, Recorder())
        client.send(b"x")
        await client.readBytes(1)
        self.assertIn(f"cwd={directory} marker=given ", server.output.decode())

    async def test_outputInterleavedAndBounded(self) -> None:
        """
        C{output} holds stdout and stderr, interleaved by whole lines, each
        stream's in order, bounded to their last 64 KiB.
        """
        server = await self.spawnServer(argv("chatty", "20000"))
        server.expectExit()
        await server._whenClosed()
        output = server.output
        self.assertEqual(len(output), 64 * 1024)
        lines = output.split(b"\n")[1:-1]
        numbers = [int(line.split()[1]) for line in lines]
        for parity in (0, 1):
            stream = [number for number in numbers if number % 2 == parity]
            self.assertEqual(stream, sorted(stream))
            self.assertEqual(stream[-1], 19998 + parity)
        self.assertLess(min(numbers), 19000)

    async def test_crashBeforeFirstUse(self) -> None:
        """
        A child that crashed before the test connected makes the connect
        fail naming its exit status and output.
        """
        server = await self.spawnServer(argv("crash"))
        self.assertEqual(await server.whenExited(), 1)
        error = await failureOf(self.connect(server, Recorder()), ServerProcessError)
        self.assertIn("exited with status 1", str(error))
        self.assertIn("cannot read the configuration", str(error))
        self.assertEqual(error.pid, server.pid)

    async def test_onlyTheChildListens(self) -> None:
        """
        This process keeps no copy of the listening socket: once the child
        is gone, a connection to its port is refused rather than left
        waiting in a backlog nobody reads.
        """
        server = await self.spawnServer(argv("silent"))
        os.kill(server.pid, signal.SIGTERM)
        await server.whenExited()
        self.assertTrue(refuses(server.port))

    async def test_whenExitedSaysTheSignal(self) -> None:
        """
        C{whenExited()} fires with minus the signal that killed the child.
        """
        server = await self.spawnServer(argv("silent"))
        # It may not lead its group yet: the launcher may not have run.
        os.kill(server.pid, signal.SIGTERM)
        self.assertEqual(await server.whenExited(), -signal.SIGTERM)
        self.assertEqual(server.returncode, -signal.SIGTERM)

    async def test_programNotFound(self) -> None:
        """
        A program that cannot be run ends the child with status 127, its
        output saying why.
        """
        server = await self.spawnServer(["trialnet-no-such-program"])
        self.assertEqual(await server.whenExited(), 127)
        self.assertIn(b"cannot run 'trialnet-no-such-program'", server.output)


class DiedDuringTestTests(TestCase):
    """
    A child that ends during the test, after it was ready, fails the test
    with the tail of its output.
    """

    def test_reported(self) -> None:
        """
        The teardown's error names the child, its exit and its last words.
        """

        async def body(case: NetworkTestCase) -> None:
            server = await case.spawnServer(argv("exitsAfter", "0"))
            await server._whenClosed()

        error = teardownError(sample(body))
        (leftover,) = error.leftovers
        self.assertEqual(leftover.role, "server process")
        self.assertIn("exited with status 4 during the test", leftover.action)
        self.assertIn("the database went away", leftover.action)
        self.assertIn("exitsAfter", str(error))

    def test_crashRightAfterReady(self) -> None:
        """
        A child that crashes as soon as it runs, its connection used at once
        (the kernel accepted it first), fails the test with its exit status
        and last words, beside the error of the connection it dropped,
        although the teardown began before the reactor reaped it.
        """

        async def body(case: NetworkTestCase) -> None:
            server = await case.spawnServer(argv("boom"))
            client = await case.connect(server, Recorder())
            client.send(b"hi")
            await client.waitForBytes(2, timeout=5)

        result = sample(body)
        errors = errorValues(result)
        self.assertEqual(len(errors), 2, errors)
        self.assertIsInstance(errors[0], (ClosedWhileWaitingError, ServerProcessError))
        self.assertDied(teardownError(result, 1), "boom: missing config")

    def test_exitNotReapedYet(self) -> None:
        """
        A child that exited before the teardown, with no turn of the
        reactor to reap it since, is reaped when the teardown begins and
        reported with its last words.
        """

        async def body(case: NetworkTestCase) -> None:
            server = await case.spawnServer(argv("boom"))
            # Waits for the exit without reaping it: the reactor has had no
            # turn since, so the teardown finds it not reaped.
            untilExited(server.pid)
            self.assertIsNone(server.returncode)

        self.assertDied(teardownError(sample(body)), "boom: missing config")

    def assertDied(self, error: TeardownError, lastWords: str) -> None:
        """
        C{error} names one server child that exited with status 3 during
        the test, quoting C{lastWords}.
        """
        (leftover,) = error.leftovers
        self.assertEqual(leftover.role, "server process")
        self.assertIn("exited with status 3 during the test", leftover.action)
        self.assertIn(lastWords, leftover.action)
        self.assertIn("boom", leftover.kind)

    def test_stoppedByTheTeardown(self) -> None:
        """
        A child still running when the test ends is stopped by the
        teardown's SIGTERM without being reported.
        """

        async def body(case: NetworkTestCase) -> None:
            server = await case.spawnServer(argv("silent"))
            client = await case.connect(server, Recorder())
            client.send(b"hi")

        result = sample(body)
        self.assertEqual(errorValues(result), [])
        self.assertEqual(result.successes, 1)

    def test_stoppedOnPurpose(self) -> None:
        """
        A child stopped by whoever says so first is not reported.
        """

        async def body(case: NetworkTestCase) -> None:
            server = await case.spawnServer(argv("silent"))
            os.kill(server.pid, signal.SIGTERM)
            await server.whenExited()

        result = sample(body)
        self.assertEqual(errorValues(result), [])
        self.assertEqual(result.successes, 1)


class ExitingTests(SynchronousTestCase):
    """
    A child still exiting when the teardown begins (its sockets closed, not
    a zombie yet, so not reapable) is reported once it is reaped.
    """

    def test_reportedOnceReaped(self) -> None:
        """
        The watch of a child that cannot be reaped yet but is exiting
        reports it once its exit comes, with its last words.
        """
        # An exited child not reaped (WNOWAIT) stands for one still
        # exiting: /proc says it no longer runs.  Not a reactor's child.
        child = subprocess.Popen([_PYTHON, "-c", "pass"])
        self.addCleanup(child.wait)
        untilExited(child.pid)
        server = ServerProcess(("boom",), [b"boom"])
        server.pid = child.pid
        server.received(2, b"boom: missing config\n")
        process = NotYet(child.pid)
        watch = ServerWatch(server, userOrigin(), lambda record: None, process)
        server.watch = watch
        watch.ready()
        watch.close()
        self.assertIs(watch.state, Watch.DYING)
        self.assertIsNone(watch.finalReport())
        server.exited(Failure(ProcessTerminated(3)))
        report = watch.finalReport()
        assert report is not None
        self.assertIn("exited with status 3 during the test", report.action)
        self.assertIn("boom: missing config", report.action)

    def test_runningIsLetGo(self) -> None:
        """
        The watch of a child still running when the teardown begins lets it
        go: its end, later, is the teardown's doing.
        """
        server = ServerProcess(("silent",), [b"silent"])
        process = NotYet(os.getpid())
        watch = ServerWatch(server, userOrigin(), lambda record: None, process)
        server.watch = watch
        watch.ready()
        watch.close()
        self.assertIs(watch.state, Watch.LET_GO)
        server.exited(Failure(ProcessTerminated(None, signal.SIGTERM)))
        self.assertIsNone(watch.finalReport())

    def test_exiting(self) -> None:
        """
        C{exiting} is true of an exited child not reaped, false of a running
        process.
        """
        child = subprocess.Popen([_PYTHON, "-c", "pass"])
        self.addCleanup(child.wait)
        untilExited(child.pid)
        self.assertTrue(exiting(child.pid))
        self.assertFalse(exiting(os.getpid()))


class NotYet:
    """
    A process transport whose child cannot be reaped yet.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.reaps = 0

    def reapProcess(self) -> None:
        self.reaps += 1


class ReadyLineTests(NetworkTestCase):
    """
    With a ready line, the child binds by itself and says where.
    """

    async def test_stdout(self) -> None:
        """
        The C{port} group of a line on stdout, written in two parts, is the
        target.
        """
        server = await self.spawnServer(
            argv("printsPort"), readyLine=rb"listening on [0-9.]+:(?P<port>\d+)"
        )
        self.assertIn(b"listening on 127.0.0.1:%d\n" % server.port, server.output)
        client = await self.connect(server, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")

    async def test_stderrWithHost(self) -> None:
        """
        A line on stderr matches too, and its C{host} group is where the
        target is.
        """
        server = await self.spawnServer(
            argv("printsPort", "stderr", "up at http://{host}:{port}/"),
            readyLine=rb"up at http://(?P<host>[0-9.]+):(?P<port>\d+)/$",
        )
        self.assertEqual(server.host, "127.0.0.1")
        client = await self.connect(server, Recorder())
        client.send(b"ping")
        self.assertEqual(await client.readBytes(4), b"ping")

    async def test_exitBeforeReady(self) -> None:
        """
        A child that exits before its ready line fails C{spawnServer()} at
        once, with its exit status and its whole output.
        """
        error = await failureOf(
            self.spawnServer(argv("crash"), readyLine=rb"(?P<port>\d+)"),
            ServerProcessError,
        )
        self.assertIn("the server exited before it was ready", str(error))
        self.assertIn("exited with status 1", str(error))
        self.assertEqual(error.exit, "exited with status 1")
        self.assertIn(b"configuring\n", error.output)
        self.assertIn(b"cannot read the configuration: no such file", error.output)

    async def test_outputClosedBeforeReady(self) -> None:
        """
        A child that closes its output before its ready line fails
        C{spawnServer()}, saying it still runs.
        """
        d = self.spawnServer(argv("closesOutput"), readyLine=rb"(?P<port>\d+)")
        error = await failureOf(d, ServerProcessError)
        self.assertIn("closed its output before it was ready", str(error))
        self.assertEqual(error.exit, "still running")
        self.assertEqual(error.output, b"detaching\n")

    async def test_startTimeout(self) -> None:
        """
        A child that prints no ready line within C{startTimeout} fails
        C{spawnServer()}, naming the pattern and the bound.
        """
        d = self.spawnServer(
            argv("silent"), readyLine=rb"port (?P<port>\d+)", startTimeout=0.3
        )
        error = await failureOf(d, ServerProcessError)
        self.assertIn("within 0.3 seconds", str(error))
        self.assertIn("port (?P<port>", str(error))
        self.assertIn("(no output)", str(error))

    async def test_badAddress(self) -> None:
        """
        A ready line whose host is not an IP literal fails C{spawnServer()}
        with the line.
        """
        d = self.spawnServer(
            argv("printsPort", "stdout", "on localhost:{port}"),
            readyLine=rb"on (?P<host>\w+):(?P<port>\d+)",
        )
        error = await failureOf(d, ServerProcessError)
        self.assertIn("not an IP literal", str(error))

    def test_defaultBound(self) -> None:
        """
        The start's bound is by default the network's C{waitTimeout}: a
        quarter of the test's timeout.
        """
        self.assertEqual(self._parts().startBound(None), self.getTimeout() / 4)
        self.assertEqual(self._parts().startBound(2), 2.0)


del Deferred, sys
