"""
Tests for L{trialnet._core._teardown}: the phase machine alone, then the teardown
step by step on a L{MemoryReactorClock}, with records that settle, or not,
when the test says so.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.python import log
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from trialnet._core._phases import TRANSITIONS, Event, Phase, nextPhase
from trialnet._core._record import Hook, IRecord
from trialnet._core._report import Leftover, Origin, TeardownError
from trialnet._core._teardown import ABORT_GRACE, LEFT_OPEN, Teardown

ORIGIN = Origin("test_teardown.py", 1)


class PhaseTests(SynchronousTestCase):
    """
    The transition table, without any I/O.
    """

    def test_orderlyPath(self) -> None:
        """
        A teardown whose records all settle goes from open to done through
        the orderly close.
        """
        phase = nextPhase(Phase.OPEN, Event.CLOSE)
        self.assertIs(phase, Phase.CLOSING)
        self.assertIs(nextPhase(phase, Event.SETTLED), Phase.DONE)

    def test_boundedPath(self) -> None:
        """
        The bound moves an orderly close to aborted; the grace after
        aborting moves it to forced; settling ends either.
        """
        self.assertIs(nextPhase(Phase.CLOSING, Event.BOUND), Phase.ABORTED)
        self.assertIs(nextPhase(Phase.ABORTED, Event.GRACE), Phase.FORCED)
        self.assertIs(nextPhase(Phase.ABORTED, Event.SETTLED), Phase.DONE)
        self.assertIs(nextPhase(Phase.FORCED, Event.SETTLED), Phase.DONE)

    def test_otherEventsChangeNothing(self) -> None:
        """
        Every pair of phase and event that is not in the table leaves the
        phase as it is: done is final, and a late timer does not reopen
        anything.
        """
        for phase in Phase:
            for event in Event:
                if (phase, event) not in TRANSITIONS:
                    self.assertIs(nextPhase(phase, event), phase, (phase, event))
        self.assertNotIn(Phase.DONE, {phase for phase, _ in TRANSITIONS})


@implementer(IRecord)
class FakeRecord:
    """
    A record that settles when the test says so, and remembers what the
    teardown asked of it.

    @ivar calls: The names of the teardown's calls, in order.
    @ivar settleOn: The call (C{"close"}, C{"abort"} or C{"force"}) on
        which it settles, or C{None} for never.
    """

    origin = ORIGIN
    role = "client"
    kind = "FakeRecord"

    def __init__(
        self,
        settleOn: str | None = "close",
        stage: int = 1,
        observed: bool = False,
        raiseOn: str = "",
    ) -> None:
        self.stage = stage
        self.observed = observed
        self.leftOpen = True
        self.settled = False
        self.settleOn = settleOn
        self.raiseOn = raiseOn
        self.calls: list[str] = []
        self.teardown: Teardown | None = None
        self.reported = False

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.raiseOn:
            raise RuntimeError(f"{name} broke")
        if name == self.settleOn:
            self.settle()

    def settle(self) -> None:
        self.settled = True
        if self.teardown is not None:
            self.teardown.settled(self)

    def close(self) -> None:
        self._call("close")

    def abort(self, waited: float) -> object:
        self._call("abort")
        return self.leftover(f"aborted after {waited:.2f}s")

    def force(self, leftover: object) -> object:
        self._call("force")
        return leftover

    def finalReport(self) -> object:
        self.reported = True
        if self.raiseOn == "finalReport":
            raise RuntimeError("finalReport broke")
        return None

    def forget(self) -> None:
        self.calls.append("forget")

    def leftover(self, action: str, **details: str) -> Leftover:
        return Leftover(role=self.role, origin=self.origin, action=action)


class FakeRecords:
    """
    A registry of fake records.
    """

    def __init__(self, *records: FakeRecord) -> None:
        self.all = list(records)
        self.forgotten = False
        self.teardown: Teardown | None = None

    def records(self) -> list[FakeRecord]:
        return list(self.all)

    def teardownHooks(self) -> list[Hook]:
        return []

    def subscribe(self, teardown: Teardown) -> None:
        self.teardown = teardown
        for record in self.all:
            record.teardown = teardown

    def add(self, record: FakeRecord) -> None:
        self.all.append(record)
        record.teardown = self.teardown
        assert self.teardown is not None
        self.teardown.opened(record)

    def beginClose(self) -> None:
        pass

    def forget(self) -> None:
        self.forgotten = True
        for record in self.all:
            record.forget()


def outcome(deferred: Deferred[None]) -> list[Any]:
    """
    What C{deferred} fired with so far: C{[]}, C{[None]} or C{[failure]}.
    """
    results: list[Any] = []
    deferred.addBoth(results.append)
    return results


class TeardownTests(SynchronousTestCase):
    """
    L{Teardown} driven step by step.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def teardown(self, *records: FakeRecord, **options: Any) -> Teardown:
        return Teardown(self.reactor, FakeRecords(*records), 5.0, **options)

    def assertLeftovers(self, results: list[Any], actions: list[str]) -> None:
        """
        Assert C{results} is one L{TeardownError} whose leftovers did the
        given actions.
        """
        (failure,) = results
        error = failure.value
        self.assertIsInstance(error, TeardownError)
        self.assertEqual([leftover.action for leftover in error.leftovers], actions)

    def test_fakeIsARecord(self) -> None:
        """
        The fake record provides the interface the teardown relies on.
        """
        self.assertTrue(verifyObject(IRecord, FakeRecord()))

    def test_nothingOpen(self) -> None:
        """
        With nothing to close, closing is done at once, and no timer stays.
        """
        teardown = self.teardown()
        results = outcome(teardown.close())
        self.assertEqual((teardown.phase, results), (Phase.DONE, [None]))
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_orderly(self) -> None:
        """
        Records that settle when closed end the teardown in order: ports
        (stage 0) before the rest, nothing aborted, the bound's timer
        cancelled, and everything forgotten.
        """
        order: list[FakeRecord] = []
        end = FakeRecord(settleOn=None)
        port = FakeRecord(settleOn=None, stage=0)
        for record in (end, port):
            record.close = (lambda r: lambda: order.append(r))(record)  # type: ignore[method-assign]
        teardown = self.teardown(end, port)
        results = outcome(teardown.close())
        self.assertEqual((order, teardown.phase), ([port, end], Phase.CLOSING))
        port.settle()
        self.assertEqual(results, [])
        end.settle()
        self.assertEqual((teardown.phase, results), (Phase.DONE, [None]))
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertEqual(end.calls, ["forget"])

    def test_aborted(self) -> None:
        """
        A record that has not settled when the bound passes is aborted, and
        named in a L{TeardownError} once it settles; nothing is aborted
        before the bound.
        """
        stuck = FakeRecord(settleOn="abort")
        teardown = self.teardown(stuck, FakeRecord())
        results = outcome(teardown.close())
        self.reactor.advance(4.9)
        self.assertEqual((teardown.phase, stuck.calls), (Phase.CLOSING, ["close"]))
        self.reactor.advance(0.1)
        self.assertEqual(teardown.phase, Phase.DONE)
        self.assertEqual(stuck.calls, ["close", "abort", "forget"])
        self.assertLeftovers(results, ["aborted after 5.00s"])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_forced(self) -> None:
        """
        A record that ignores the abort is forced after the grace, and the
        teardown ends with its report.
        """
        deaf = FakeRecord(settleOn=None)
        teardown = self.teardown(deaf)
        results = outcome(teardown.close())
        self.reactor.advance(5.0)
        self.assertEqual(teardown.phase, Phase.ABORTED)
        self.reactor.advance(ABORT_GRACE)
        self.assertEqual(teardown.phase, Phase.DONE)
        self.assertEqual(deaf.calls, ["close", "abort", "force", "forget"])
        self.assertLeftovers(results, ["aborted after 5.00s"])

    def test_stepRaises(self) -> None:
        """
        A record whose close raises does not stop the others from closing:
        the error is logged, and the teardown still ends within its bounds.
        """
        broken = FakeRecord(settleOn=None, raiseOn="close")
        fine = FakeRecord()
        teardown = self.teardown(broken, fine)
        logged: list[dict[str, Any]] = []
        log.addObserver(logged.append)
        self.addCleanup(log.removeObserver, logged.append)
        results = outcome(teardown.close())
        self.assertEqual(fine.calls, ["close"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        # The log names the step and the record it failed on.
        self.assertIn(
            "trialnet teardown: error while closing client FakeRecord",
            [event.get("why") for event in logged],
        )
        self.reactor.advance(5.0)
        broken.settle()
        self.assertEqual(teardown.phase, Phase.DONE)
        self.assertLeftovers(results, ["aborted after 5.00s"])

    def test_finalReportRaises(self) -> None:
        """
        A record whose final report raises does not stop the others from
        reporting, nor the teardown from ending: the error is logged, and
        every record is still forgotten.
        """
        broken = FakeRecord(raiseOn="finalReport")
        fine = FakeRecord()
        teardown = self.teardown(broken, fine)
        results = outcome(teardown.close())
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(teardown.phase, Phase.DONE)
        self.assertEqual(results, [None])
        self.assertEqual((fine.reported, broken.reported), (True, True))
        self.assertEqual(fine.calls, ["close", "forget"])
        self.assertEqual(broken.calls, ["close", "forget"])

    def test_openedWhileClosing(self) -> None:
        """
        A record opened while the teardown closes is closed at once, and
        waited for.
        """
        records = FakeRecords(FakeRecord(settleOn=None))
        teardown = Teardown(self.reactor, records, 5.0)
        results = outcome(teardown.close())
        late = FakeRecord(settleOn=None)
        records.add(late)
        self.assertEqual(late.calls, ["close"])
        records.all[0].settle()
        self.assertEqual(results, [])
        late.settle()
        self.assertEqual(results, [None])

    def test_closeTwice(self) -> None:
        """
        Each call of C{close} gets its own Deferred, all with the one
        outcome; a call after the end gets it at once.
        """
        record = FakeRecord(settleOn=None)
        teardown = self.teardown(record)
        first, second = outcome(teardown.close()), outcome(teardown.close())
        self.assertEqual(record.calls, ["close"])
        record.settle()
        self.assertEqual((first, second), ([None], [None]))
        self.assertEqual(outcome(teardown.close()), [None])

    def test_fitWithin(self) -> None:
        """
        A short budget shortens the bound and the grace so that both end
        well within it; a long one changes nothing.
        """
        teardown = self.teardown()
        teardown.fitWithin(100.0)
        self.assertEqual(
            (teardown.disconnectTimeout, teardown.abortGrace), (5.0, ABORT_GRACE)
        )
        teardown.fitWithin(2.0)
        self.assertLess(teardown.disconnectTimeout + teardown.abortGrace, 2.0)
        self.assertGreater(teardown.disconnectTimeout, 0)

    def test_strict(self) -> None:
        """
        With C{strict}, what the code under test left open is a leftover
        even though it closed in order; what the test opened is not.
        """
        observed = FakeRecord(observed=True)
        teardown = self.teardown(observed, FakeRecord(), strict=True)
        results = outcome(teardown.close())
        self.assertLeftovers(results, [LEFT_OPEN])

    def test_lenient(self) -> None:
        """
        Without C{strict}, what the code under test left open closes
        quietly.
        """
        teardown = self.teardown(FakeRecord(observed=True))
        self.assertEqual(outcome(teardown.close()), [None])

    def test_waiterFiredFromOutside(self) -> None:
        """
        A C{close} Deferred already failed from outside (trial's timeout of
        a cleanup) is left as it is when the teardown ends; the other
        waiters still get the outcome, and nothing else is logged.
        """
        record = FakeRecord(settleOn=None)
        teardown = self.teardown(record)
        timedOut = teardown.close()
        timedOut.errback(RuntimeError("trial's timeout"))
        self.failureResultOf(timedOut, RuntimeError)
        other = outcome(teardown.close())
        record.settle()
        self.assertEqual((teardown.phase, other), (Phase.DONE, [None]))
        self.assertEqual(self.flushLoggedErrors(), [])
