"""
Processes the code under test starts on the reactor, in the one teardown:
sample test cases that start real children (with C{sys.executable -c}) run
into a result, and what they recorded, and what is left in C{/proc}, is
checked.
"""

from __future__ import annotations

import os
import sys
import time

from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.internet.utils import getProcessOutput
from twisted.python.failure import Failure
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase

from ..helpers import assertCleanRun, runSample, teardownError
from .programs import (
    FORKS,
    GROUP_STUBBORN,
    LEADS_GROUP,
    QUITS,
    SLEEPER,
    STUBBORN,
    Keeper,
    childArgv,
    childrenOf,
    gone,
    kill,
    running,
    spawn,
)

#: A short bound for the stubborn children, so that the suite stays fast.
SHORT = 0.2


def markedLine(marker: str) -> int:
    """
    The number of the line of this file that follows the comment
    C{# marker}.
    """
    with open(__file__.replace(".pyc", ".py")) as f:
        for number, line in enumerate(f, 1):
            if line.strip() == f"# {marker}":
                return number + 1
    raise AssertionError(marker)


class StoppingTestCase(SynchronousTestCase):
    """
    A base for the tests that run samples, and check that no child of
    the runner is left.
    """

    def setUp(self) -> None:
        self.before = set(childrenOf(os.getpid()))

    def run_(self, case: type[NetworkTestCase]) -> tuple[TestResult, float]:
        """
        Run C{case}'s C{test_it}; then, whatever happened, no child of the
        runner is left, running or a zombie.

        @return: The result, and the seconds it took.
        """
        started = time.monotonic()
        result = runSample(case)
        took = time.monotonic() - started
        left = {
            pid: state
            for pid, state in childrenOf(os.getpid()).items()
            if pid not in self.before
        }
        assert not left, f"children left: {left}"
        return result, took


class StoppedTests(StoppingTestCase):
    """
    Processes that stop on SIGTERM: reaped, and the test passes.
    """

    def test_leftRunningIsStopped(self) -> None:
        """
        A child the code under test started and left running is stopped
        with SIGTERM and reaped; the test passes, and the child's protocol
        hears C{processExited} and C{processEnded}, as from any end.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                spawn(reactor, keeper, SLEEPER)
                await keeper.ready

        result, took = self.run_(Sample)

        assertCleanRun(self, result)
        self.assertEqual(keeper.events, ["exited", "ended"])
        self.assertIn("signal 15", str(keeper.reason))
        self.assertLess(took, 3.0)

    def test_ptyChildStopped(self) -> None:
        """
        A child started on a pseudo-terminal (C{usePTY=True}) and left
        running is stopped with SIGTERM and reaped like any other: the test
        passes, and its protocol hears C{processEnded}.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                reactor.spawnProcess(
                    keeper, sys.executable, childArgv(SLEEPER), env=None, usePTY=True
                )
                await keeper.ready

        result, took = self.run_(Sample)

        assertCleanRun(self, result)
        self.assertIn("ended", keeper.events)
        self.assertIn("signal 15", str(keeper.reason))
        self.assertLess(took, 3.0)

    def test_connectionsCloseFirst(self) -> None:
        """
        The test's connections close before its processes are sent SIGTERM.
        """
        events: list[str] = []
        keeper = Keeper(events)

        class Lost(Protocol):
            def connectionLost(self, reason: Failure | None = None) -> None:
                events.append("connection lost")

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                spawn(reactor, keeper, SLEEPER)
                port = self.listen(Factory.forProtocol(Lost))
                await self.connect(port, Factory.forProtocol(Lost))
                await keeper.ready

        result, _ = self.run_(Sample)

        assertCleanRun(self, result)
        self.assertEqual(
            events, ["connection lost", "connection lost", "exited", "ended"]
        )

    def test_endedByItself(self) -> None:
        """
        A child that ended by itself during the test is nothing to the
        teardown, even under strict cleanup.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            strictCleanup = True

            async def test_it(self) -> None:
                spawn(reactor, keeper, QUITS)
                await keeper.ended

        result, _ = self.run_(Sample)

        assertCleanRun(self, result)

    def test_getProcessOutputLeftPending(self) -> None:
        """
        C{twisted.internet.utils.getProcessOutput} left pending is stopped,
        and its Deferred fires with what the child wrote.
        """
        outputs: list[object] = []

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                getProcessOutput(sys.executable, ["-c", SLEEPER], env=os.environ)
                pending = getProcessOutput(
                    sys.executable, ["-c", SLEEPER], env=os.environ
                )
                pending.addBoth(outputs.append)
                await deferLater(reactor, 0.3, lambda: None)

        result, _ = self.run_(Sample)

        assertCleanRun(self, result)
        self.assertEqual(outputs, [b"ready\n"])

    def test_strictNamesTheLine(self) -> None:
        """
        Under strict cleanup, a child left running fails the test, named
        with its argument list, its pid and the line that started it; it is
        still stopped with SIGTERM and reaped.
        """
        keeper = Keeper()
        pids: list[int] = []

        class Sample(NetworkTestCase):
            strictCleanup = True

            async def test_it(self) -> None:
                # spawned
                process = reactor.spawnProcess(
                    keeper, sys.executable, childArgv(SLEEPER), env=None
                )
                pids.append(process.pid)
                await keeper.ready

        result, _ = self.run_(Sample)

        error = teardownError(result)
        (leftover,) = error.leftovers
        self.assertEqual(
            (leftover.role, leftover.leftOpen, leftover.origin.lineno),
            ("process", True, markedLine("spawned")),
        )
        self.assertIn(f"pid {pids[0]}", str(leftover))
        self.assertIn("time.sleep(60)", leftover.kind)
        self.assertIn("left running by the code under test", str(error))
        self.assertEqual(keeper.events, ["exited", "ended"])


class KilledTests(StoppingTestCase):
    """
    Processes that ignore SIGTERM: killed at the bound, and the test fails
    naming them.
    """

    def test_stubbornIsKilled(self) -> None:
        """
        A child that ignores SIGTERM (and SIGQUIT) is sent SIGQUIT at the
        bound, then SIGKILL, and reaped; the test fails naming its argument
        list, its pid and how it ended, and the teardown does not hang.
        """
        keeper = Keeper()
        pids: list[int] = []

        class Sample(NetworkTestCase):
            processTimeout = SHORT

            async def test_it(self) -> None:
                pids.append(spawn(reactor, keeper, STUBBORN).pid)
                await keeper.ready

        result, took = self.run_(Sample)

        error = teardownError(result)
        (leftover,) = error.leftovers
        text = str(leftover)
        self.assertFalse(leftover.leftOpen)
        self.assertIn(f"pid {pids[0]}", text)
        self.assertIn("signal.SIG_IGN", text)
        self.assertIn("sent SIGQUIT, then SIGKILL; killed by SIGKILL", text)
        self.assertIn("did not close in an orderly way", str(error))
        self.assertEqual(keeper.events, ["exited", "ended"])
        self.assertLess(took, 5.0)

    def test_groupWithStubbornMember(self) -> None:
        """
        A child that leads its own group, whose grandchild ignores SIGTERM,
        is stopped with its group: the grandchild is killed too, and the
        test fails naming the group.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            processTimeout = SHORT

            async def test_it(self) -> None:
                spawn(reactor, keeper, GROUP_STUBBORN)
                await keeper.ready

        result, _ = self.run_(Sample)
        grandchild = keeper.firstNumber()
        self.addCleanup(kill, grandchild)

        (leftover,) = teardownError(result).leftovers
        self.assertIn("(and its process group)", leftover.local)
        self.assertIn("sent SIGQUIT, then SIGKILL", leftover.action)
        self.assertTrue(gone(grandchild))


class GrandchildTests(StoppingTestCase):
    """
    A grandchild that holds the child's output pipes cannot hang the
    teardown.
    """

    def test_groupGoesWithItsLeader(self) -> None:
        """
        A child that leads its own process group (C{os.setsid()}) is
        signalled as a group: its grandchild, which holds its output, goes
        too; the test passes and no process is left.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                spawn(reactor, keeper, LEADS_GROUP)
                await keeper.ready

        result, took = self.run_(Sample)
        grandchild = keeper.firstNumber()
        self.addCleanup(kill, grandchild)

        assertCleanRun(self, result)
        self.assertTrue(gone(grandchild, within=0.5))
        self.assertEqual(keeper.events, ["exited", "ended"])
        self.assertLess(took, 3.0)

    def test_pipesHeldByAGrandchild(self) -> None:
        """
        A child in the runner's group is signalled alone: once it is
        reaped, its pipes are closed although a grandchild still holds
        them, so the teardown ends at once, the test passes and the child's
        protocol still hears C{processEnded}.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                spawn(reactor, keeper, FORKS)
                await keeper.ready

        result, took = self.run_(Sample)
        grandchild = keeper.firstNumber()
        self.addCleanup(kill, grandchild)

        assertCleanRun(self, result)
        self.assertTrue(running(grandchild))
        self.assertEqual(keeper.events, ["exited", "ended"])
        self.assertLess(took, 3.0)


class RunnerGroupTests(SynchronousTestCase):
    """
    The runner's own process group is never signalled.
    """

    def test_neverTheRunnersGroup(self) -> None:
        """
        Signalling a group refuses the runner's own group, and init's.
        """
        from trialnet._processes._stopping import mayStopGroup, signalProcess

        self.assertFalse(mayStopGroup(os.getpgrp()))
        self.assertFalse(mayStopGroup(1))
        self.assertFalse(mayStopGroup(0))
        self.assertRaises(ValueError, signalProcess, None, os.getpgrp(), True, 0)


class LateTests(StoppingTestCase):
    """
    A process the code under test starts in C{tearDown}, after the test's
    teardown ran.
    """

    def test_startedInTearDown(self) -> None:
        """
        A child started in C{tearDown} and left running is stopped after
        C{tearDown}, and the test passes.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            def test_it(self) -> None:
                self.listen(Factory.forProtocol(Protocol))

            def tearDown(self) -> None:
                spawn(reactor, keeper, SLEEPER)

        result, _ = self.run_(Sample)

        assertCleanRun(self, result)
        self.assertEqual(keeper.events, ["exited", "ended"])
