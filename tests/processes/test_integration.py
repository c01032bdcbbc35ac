"""
C{spawnServer()}'s children in the one teardown of processes: stopped after
the test's connections close, killed at C{processTimeout} and reported with
the server's own argv and output, signalled with the session the launcher
makes them lead, not named as leftovers of the code under test; and in
virtual time, started and stopped on real time.
"""

from __future__ import annotations

import shlex

from twisted.internet import reactor

from trialnet import NetworkTestCase, Recorder, ServerProcess

from ..helpers import assertCleanRun, teardownError
from .children import argv
from .programs import LATE_GROUP, SLEEPER, STUBBORN, Keeper, gone, kill, spawn
from .test_stopping import SHORT, StoppingTestCase


async def roundTrip(case: NetworkTestCase, server: ServerProcess) -> None:
    """
    Connect to C{server} and have one byte echoed: it is up and serving.
    """
    client = await case.connect(server, Recorder())
    client.send(b"x")
    await client.readBytes(1)


class KilledServerTests(StoppingTestCase):
    """
    A server child that ignores SIGTERM is killed at the bound, and
    reported as the server it is.
    """

    def test_stubbornServer(self) -> None:
        """
        A child that ignores SIGTERM and SIGQUIT is killed within a short
        C{processTimeout}; the error names the server's argv (not the
        launcher's), its pid and group, how it ended, and its output's tail.
        """
        servers: list[ServerProcess] = []

        class Sample(NetworkTestCase):
            processTimeout = SHORT

            async def test_it(self) -> None:
                servers.append(await self.spawnServer(argv("stubborn")))
                await roundTrip(self, servers[0])

        result, took = self.run_(Sample)

        (server,) = servers
        error = teardownError(result)
        (leftover,) = error.leftovers
        text = str(leftover)
        self.assertEqual(leftover.role, "process")
        self.assertFalse(leftover.leftOpen)
        self.assertEqual(leftover.kind, shlex.join(argv("stubborn")))
        self.assertEqual(leftover.local, f"pid {server.pid} (and its process group)")
        self.assertIn("sent SIGQUIT, then SIGKILL; killed by SIGKILL", text)
        self.assertIn("| stubborn server up, ignoring SIGTERM", text)
        self.assertNotIn("execvpe", str(error))
        self.assertEqual(server.returncode, -9)
        self.assertLess(took, 5.0)


class GroupTests(StoppingTestCase):
    """
    A server child leads its own session: its grandchildren go with it.
    """

    def test_grandchildHoldingOutput(self) -> None:
        """
        A socket-activated child that forks a grandchild holding its stdout
        is stopped with its whole group: the test passes at once and no
        process is left.
        """
        servers: list[ServerProcess] = []

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                servers.append(await self.spawnServer(argv("forks")))
                await roundTrip(self, servers[0])

        result, took = self.run_(Sample)
        grandchild = int(servers[0].output.split(b"\n")[0])
        self.addCleanup(kill, grandchild)

        assertCleanRun(self, result)
        self.assertTrue(gone(grandchild, within=0.5))
        self.assertLess(took, 3.0)

    def test_endedRightAfterTheSpawn(self) -> None:
        """
        A test that ends as soon as C{spawnServer()} returns, before the
        launcher may have left the runner's group, still passes and leaves
        no process behind.
        """
        servers: list[ServerProcess] = []

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                servers.append(await self.spawnServer(argv("forks")))

        result, took = self.run_(Sample)
        first = servers[0].output.split(b"\n")[0]
        if first.isdigit():
            self.addCleanup(kill, int(first))
            self.assertTrue(gone(int(first), within=0.5))

        assertCleanRun(self, result)
        self.assertLess(took, 3.0)

    def test_groupLedAfterTheSpawn(self) -> None:
        """
        A child that comes to lead its own group only after it was first
        signalled is signalled as a group from then on: the grandchild it
        forked, holding its output, is killed with it.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            processTimeout = SHORT

            async def test_it(self) -> None:
                spawn(reactor, keeper, LATE_GROUP)
                await keeper.ready

        result, _ = self.run_(Sample)
        lines = bytes(keeper.output).split(b"\n")
        grandchild = int(lines[1])
        self.addCleanup(kill, grandchild)

        (leftover,) = teardownError(result).leftovers
        self.assertIn("(and its process group)", leftover.local)
        self.assertTrue(gone(grandchild, within=1.0))


class OrderTests(StoppingTestCase):
    """
    The test's connections to a server child close before it is stopped.
    """

    def test_connectionsCloseFirst(self) -> None:
        """
        When the child gets SIGTERM, the test's connection to it is closed
        already.
        """
        servers: list[ServerProcess] = []

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                servers.append(await self.spawnServer(argv("watchesClose")))
                await roundTrip(self, servers[0])

        result, _ = self.run_(Sample)

        assertCleanRun(self, result)
        self.assertIn(b"SIGTERM with the connection closed\n", servers[0].output)


class StrictTests(StoppingTestCase):
    """
    Under strict cleanup, a server child is the test's own, not a leftover
    of the code under test.
    """

    def test_onlyTheCodesChildNamed(self) -> None:
        """
        A C{spawnServer()} child is stopped without being named; a child the
        code under test started with C{reactor.spawnProcess} is named.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            strictCleanup = True

            async def test_it(self) -> None:
                await self.spawnServer(argv("silent"))
                spawn(reactor, keeper, SLEEPER)
                await keeper.ready

        result, _ = self.run_(Sample)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual((leftover.role, leftover.leftOpen), ("process", True))
        self.assertIn("time.sleep(60)", leftover.kind)
        self.assertNotIn("silent", str(teardownError(result)))


class VirtualTimeTests(StoppingTestCase):
    """
    In virtual time, a server child's start bound and the processes'
    teardown keep to real time.
    """

    def test_slowReadyLine(self) -> None:
        """
        A child silent for 1.5 real seconds (beyond the stall allowance)
        before its ready line still starts: its start bound is not jumped
        over.
        """

        class Sample(NetworkTestCase):
            virtualTime = True

            async def test_it(self) -> None:
                server = await self.spawnServer(
                    argv("slowReady", "1.5"),
                    readyLine=rb"listening on [0-9.]+:(?P<port>\d+)",
                    startTimeout=10,
                )
                await roundTrip(self, server)

        result, _ = self.run_(Sample)

        assertCleanRun(self, result)

    def test_reactorChildStopped(self) -> None:
        """
        A child the code under test left running in a virtual test is
        stopped and reaped by the teardown; one that ignores SIGTERM is
        killed at C{processTimeout}, in real seconds.
        """
        keepers = [Keeper(), Keeper()]

        class Sample(NetworkTestCase):
            virtualTime = True
            processTimeout = SHORT

            async def test_it(self) -> None:
                spawn(reactor, keepers[0], SLEEPER)
                spawn(reactor, keepers[1], STUBBORN)
                await keepers[0].ready
                await keepers[1].ready

        result, took = self.run_(Sample)

        (leftover,) = teardownError(result).leftovers
        self.assertIn("killed by SIGKILL", leftover.action)
        self.assertIn("signal.SIG_IGN", leftover.kind)
        for keeper in keepers:
            self.assertEqual(keeper.events, ["exited", "ended"])
        self.assertLess(took, 5.0)
