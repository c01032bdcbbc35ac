"""
Tests for L{trialnet._processes._records} and the teardown's process
phases: the phases step by step on a L{MemoryReactorClock} with fake
records, the process lifecycle's table, the processes' bound, and
L{describeProcess} with a process protocol that keeps the tail of its
output.
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network, NetworkTestCase
from trialnet._core._defaults import KILL_GRACE, PROCESS_TIMEOUT, QUIT_GRACE
from trialnet._core._lifecycle import PROCESS_MOVES, ProcessEvent, ProcessState
from trialnet._core._phases import Event, Phase, nextPhase
from trialnet._core._record import STOP_PROCESSES
from trialnet._core._teardown import ABORT_GRACE, Teardown
from trialnet._plugin import PROCESS_TIMEOUT_OPTION, _iniTimeout
from trialnet._processes._records import describeProcess

from ..core.test_lifecycles import TableTestsMixin
from ..core.test_teardown import FakeRecord, FakeRecords, outcome
from ..helpers import assertCleanRun, runSample, teardownError
from .programs import STUBBORN, Keeper, childArgv, spawn


class ProcessPhaseTests(SynchronousTestCase):
    """
    The process phases of the transition table, without any I/O.
    """

    def test_afterEverythingElse(self) -> None:
        """
        Once everything but the processes settled, from an orderly close, an
        abort or a force, the processes are stopped; settling ends that.
        """
        for phase in (Phase.CLOSING, Phase.ABORTED, Phase.FORCED):
            self.assertIs(nextPhase(phase, Event.CLOSED), Phase.STOPPING)
        self.assertIs(nextPhase(Phase.STOPPING, Event.SETTLED), Phase.DONE)

    def test_boundedPath(self) -> None:
        """
        The processes' bound moves to SIGQUIT, the grace to SIGKILL, and
        the grace after SIGKILL ends the teardown whatever is left.
        """
        self.assertIs(nextPhase(Phase.STOPPING, Event.BOUND), Phase.QUITTING)
        self.assertIs(nextPhase(Phase.QUITTING, Event.GRACE), Phase.KILLING)
        self.assertIs(nextPhase(Phase.QUITTING, Event.SETTLED), Phase.DONE)
        self.assertIs(nextPhase(Phase.KILLING, Event.SETTLED), Phase.DONE)
        self.assertIs(nextPhase(Phase.KILLING, Event.GRACE), Phase.DONE)


class ProcessTableTests(TableTestsMixin, SynchronousTestCase):
    """
    The moves of a child process.
    """

    table = PROCESS_MOVES
    states = ProcessState
    events = ProcessEvent
    initial = ProcessState.RUNNING


def processRecord(settleOn: str | None = "close") -> FakeRecord:
    """
    A fake record of the processes' stage.
    """
    record = FakeRecord(settleOn=settleOn, stage=STOP_PROCESSES)
    record.role = "process"
    return record


class ProcessTeardownTests(SynchronousTestCase):
    """
    L{Teardown} with processes, driven step by step.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def teardown(self, *records: FakeRecord, **options: Any) -> Teardown:
        return Teardown(self.reactor, FakeRecords(*records), 5.0, **options)

    def test_afterTheConnections(self) -> None:
        """
        A process is stopped only once the connections settled, and the
        teardown ends when it settled too.
        """
        end = FakeRecord(settleOn=None)
        process = processRecord(settleOn=None)
        teardown = self.teardown(end, process)
        results = outcome(teardown.close())
        self.assertEqual((end.calls, process.calls), (["close"], []))
        end.settle()
        self.assertEqual((teardown.phase, process.calls), (Phase.STOPPING, ["close"]))
        process.settle()
        self.assertEqual((teardown.phase, results), (Phase.DONE, [None]))
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_afterAnAbort(self) -> None:
        """
        Connections aborted at their bound still come first: the processes
        are stopped once those settled, within their own bound from then.
        """
        end = FakeRecord(settleOn="abort")
        process = processRecord()
        teardown = self.teardown(end, process, processTimeout=2.0)
        results = outcome(teardown.close())
        self.reactor.advance(5.0)
        self.assertEqual(end.calls, ["close", "abort", "forget"])
        self.assertEqual(process.calls, ["close", "forget"])
        self.assertEqual(teardown.phase, Phase.DONE)
        self.assertEqual(len(results), 1)

    def test_bounded(self) -> None:
        """
        A process that does not settle gets C{abort} (SIGQUIT) at the
        processes' bound, C{force} (SIGKILL) after the grace, and the
        teardown ends after the grace after that, even if it never settled,
        failing with what it described.
        """
        process = processRecord(settleOn=None)
        teardown = self.teardown(process, processTimeout=2.0)
        results = outcome(teardown.close())
        self.assertEqual(teardown.phase, Phase.STOPPING)
        self.reactor.advance(2.0)
        self.assertEqual(teardown.phase, Phase.QUITTING)
        self.assertEqual(process.calls, ["close", "abort"])
        self.reactor.advance(teardown.quitGrace)
        self.assertEqual(teardown.phase, Phase.KILLING)
        self.assertEqual(process.calls, ["close", "abort", "force"])
        self.assertEqual(results, [])
        self.reactor.advance(teardown.killGrace)
        self.assertEqual(teardown.phase, Phase.DONE)
        (failure,) = results
        self.assertEqual(
            [leftover.action for leftover in failure.value.leftovers],
            ["aborted after 2.00s"],
        )

    def test_killedAndReaped(self) -> None:
        """
        A process that settles after SIGKILL ends the teardown then, without
        waiting out the grace.
        """
        process = processRecord(settleOn="force")
        teardown = self.teardown(process, processTimeout=1.0)
        outcome(teardown.close())
        self.reactor.advance(1.0)
        self.reactor.advance(teardown.quitGrace)
        self.assertEqual(teardown.phase, Phase.DONE)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_startedDuringTheTeardown(self) -> None:
        """
        A process started while the connections close waits for them; one
        started while the processes stop is stopped at once.
        """
        end = FakeRecord(settleOn=None)
        records = FakeRecords(end)
        teardown = Teardown(self.reactor, records, 5.0)
        outcome(teardown.close())
        early, late = processRecord(settleOn=None), processRecord(settleOn=None)
        records.add(early)
        self.assertEqual(early.calls, [])
        end.settle()
        self.assertEqual((teardown.phase, early.calls), (Phase.STOPPING, ["close"]))
        records.add(late)
        self.assertEqual(late.calls, ["close"])
        early.settle()
        self.assertEqual(teardown.phase, Phase.STOPPING)
        late.settle()
        self.assertEqual(teardown.phase, Phase.DONE)

    def test_strictNamesAProcessLeftRunning(self) -> None:
        """
        Under strict cleanup, a process the code under test left running is
        named even though it stopped on SIGTERM; after the connections'.
        """
        end = FakeRecord()
        end.observed = True
        process = processRecord()
        process.observed = True
        teardown = self.teardown(process, end, strict=True)
        (failure,) = outcome(teardown.close())
        self.assertEqual(
            [leftover.role for leftover in failure.value.leftovers],
            ["client", "process"],
        )


class FitTests(SynchronousTestCase):
    """
    The processes' bound counts towards the teardown's only when the test
    started processes.
    """

    def test_noProcesses(self) -> None:
        """
        Without processes, the connections' bound is fitted as before and
        the processes' bound is left as it is.
        """
        teardown = Teardown(MemoryReactorClock(), FakeRecords(FakeRecord()), 5.0)
        teardown.fitWithin(10.0)
        self.assertEqual(
            (teardown.disconnectTimeout, teardown.abortGrace, teardown.processTimeout),
            (5.0, ABORT_GRACE, PROCESS_TIMEOUT),
        )

    def test_withProcesses(self) -> None:
        """
        With processes, both bounds and every grace fit well within the
        budget together; a long budget changes nothing.
        """
        records = FakeRecords(FakeRecord(), processRecord())
        teardown = Teardown(MemoryReactorClock(), records, 5.0)
        teardown.fitWithin(100.0)
        self.assertEqual(
            (teardown.processTimeout, teardown.quitGrace, teardown.killGrace),
            (PROCESS_TIMEOUT, QUIT_GRACE, KILL_GRACE),
        )
        teardown.fitWithin(10.0)
        total = (
            teardown.disconnectTimeout
            + teardown.abortGrace
            + teardown.processTimeout
            + teardown.quitGrace
            + teardown.killGrace
        )
        self.assertLessEqual(total, 8.0 + 1e-9)
        self.assertGreater(teardown.processTimeout, 0)
        self.assertGreater(teardown.disconnectTimeout, 0)


class ProcessTimeoutTests(SynchronousTestCase):
    """
    The processes' bound as the fronts take it.
    """

    def test_networkChecks(self) -> None:
        """
        L{Network} takes C{processTimeout} as seconds, and refuses what is
        not a finite positive number, naming it.
        """
        network = Network(MemoryReactorClock(), processTimeout=1.5)
        self.addCleanup(network.close)
        self.assertEqual(network.processTimeout, 1.5)
        network.processTimeout = 2
        self.assertEqual(network.processTimeout, 2.0)
        for bad, error in (
            (0, ValueError),
            (float("inf"), ValueError),
            ("1", TypeError),
        ):
            raised = self.assertRaises(
                error, Network, MemoryReactorClock(), processTimeout=bad
            )
            self.assertIn("processTimeout", str(raised))
        self.assertRaises(ValueError, setattr, network, "processTimeout", -1)

    def test_defaults(self) -> None:
        """
        Both fronts default to L{PROCESS_TIMEOUT}.
        """
        self.assertEqual(NetworkTestCase.processTimeout, PROCESS_TIMEOUT)
        network = Network(MemoryReactorClock())
        self.addCleanup(network.close)
        self.assertEqual(network.processTimeout, PROCESS_TIMEOUT)


class _Ini:
    """
    A pytest configuration that holds only the processes' ini option.
    """

    def __init__(self, value: str) -> None:
        self.value = value

    def getini(self, name: str) -> str:
        assert name == PROCESS_TIMEOUT_OPTION, name
        return self.value


class IniOptionTests(SynchronousTestCase):
    """
    The pytest plugin's C{trialnet_process_timeout} ini option.
    """

    def test_taken(self) -> None:
        """
        A number of seconds is taken as it is.
        """
        self.assertEqual(_iniTimeout(_Ini("0.5"), PROCESS_TIMEOUT_OPTION), 0.5)

    def test_refused(self) -> None:
        """
        What is not a finite positive number of seconds is a C{ValueError}
        naming the option and quoting the value.
        """
        for value in ["inf", "-1", "0", "abc"]:
            error = self.assertRaises(
                ValueError, _iniTimeout, _Ini(value), PROCESS_TIMEOUT_OPTION
            )
            self.assertIn("trialnet_process_timeout must be", str(error))
            self.assertIn(repr(value), str(error))


class DescribeTests(SynchronousTestCase):
    """
    L{describeProcess}: the owner of a process's protocol names its true
    argument list and hands the report the tail of its output.
    """

    def test_reportQuotesTheTail(self) -> None:
        """
        A stubborn child described with an argument list and an output tail
        is reported with both when it had to be killed, and, owned, is no
        leftover of the code under test under strict cleanup.
        """
        keeper = Keeper()

        class Sample(NetworkTestCase):
            processTimeout = 0.2
            strictCleanup = True

            async def test_it(self) -> None:
                process = spawn(reactor, keeper, STUBBORN)
                describeProcess(
                    self, process, argv=["my-server", "--flag"], outputTail=keeper.tail
                )
                await keeper.ready

        result = runSample(Sample)

        (leftover,) = teardownError(result).leftovers
        self.assertEqual(
            (leftover.kind, leftover.leftOpen), ("my-server --flag", False)
        )
        self.assertIn("killed by SIGKILL", leftover.action)
        self.assertIn(
            "The end of its output:\n    | stubborn and ready", leftover.action
        )

    def test_stoppedOwnedPasses(self) -> None:
        """
        An owned process started quietly (not seen by the observation) is
        recorded by L{describeProcess}, stopped, and passes under strict
        cleanup.
        """
        from trialnet._sockets._observe import quietly

        keeper = Keeper()

        class Sample(NetworkTestCase):
            strictCleanup = True

            async def test_it(self) -> None:
                with quietly(reactor):
                    process = reactor.spawnProcess(
                        keeper, sys.executable, childArgv("import time; time.sleep(60)")
                    )
                describeProcess(self, process, outputTail=keeper.tail)

        assertCleanRun(self, runSample(Sample))
        self.assertEqual(keeper.events, ["exited", "ended"])

    def test_badInput(self) -> None:
        """
        What is not a process transport, a callable tail or a network is
        refused with a C{TypeError} saying what was expected.
        """
        network = Network(MemoryReactorClock())
        self.addCleanup(network.close)
        error = self.assertRaises(TypeError, describeProcess, network, object())
        self.assertIn("process transport", str(error))
        error = self.assertRaises(
            TypeError, describeProcess, network, object(), outputTail="text"
        )
        self.assertIn("callable", str(error))
        error = self.assertRaises(TypeError, describeProcess, object(), object())
        self.assertIn("Network", str(error))
