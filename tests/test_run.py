"""
Tests for L{trialnet._run}: where a test case's teardown runs among trial's
cleanups and C{tearDown}, whether trialnet registers it as a cleanup or, when
the test had no cleanup yet, closes at the start of C{tearDown}, in the place
of trial's last cleanup.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import Factory, Protocol
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase, Recorder, TeardownError

from .helpers import (
    Events,
    LoggingFactory,
    Stuck,
    errorTypes,
    portNumber,
    refuses,
    runSample,
)


def recorded(
    base: type[NetworkTestCase] = NetworkTestCase,
    setUpCleanup: bool = False,
    setUpFails: bool = False,
    stuck: bool = False,
    tearDownFails: bool = False,
    **attributes: Any,
) -> tuple[list[str], TestResult, list[int]]:
    """
    Run a test that listens, connects, and records its cleanups, its
    C{tearDown} and the moment trialnet's teardown closed its connection.

    @param setUpCleanup: Whether C{setUp} adds a cleanup before anything is
        opened.
    @param setUpFails: Whether C{setUp} opens, then raises.
    @param stuck: Whether the server never closes, so the teardown aborts it.
    @param tearDownFails: Whether C{tearDown} raises.
    @return: What happened, in order; the result; the port's number.
    """
    events: list[str] = []
    numbers: list[int] = []
    factory: Factory = (
        LoggingFactory(Events(), "server", Stuck)
        if stuck
        else Factory.forProtocol(Protocol)
    )

    async def openAndRecord(case: NetworkTestCase) -> None:
        port = case.listen(factory)
        numbers.append(portNumber(port))
        # Registered now: the cleanups the test had so far are its own.
        events.append(f"cleanups when opened: {len(case._cleanups)}")
        client = await case.connect(port, Recorder())
        case.whenClosed(client).addCallback(
            lambda _: events.append("trialnet's teardown closed the connection")
        )
        case.addCleanup(events.append, "cleanup added by the test")

    class Recorded(base):  # type: ignore[valid-type, misc]
        async def setUp(self) -> None:
            if setUpCleanup:
                self.addCleanup(events.append, "cleanup added in setUp")
            if setUpFails:
                await openAndRecord(self)
                raise RuntimeError("setUp broke")

        async def test_recorded(self) -> None:
            await openAndRecord(self)

        def tearDown(self) -> None:
            events.append("tearDown")
            if tearDownFails:
                raise RuntimeError("tearDown broke")

    for name, value in attributes.items():
        setattr(Recorded, name, value)
    result = runSample(Recorded, "test_recorded")
    return events, result, numbers


class PlaceTests(SynchronousTestCase):
    """
    The teardown runs after the cleanups added after the first thing was
    opened, before those added earlier, and before C{tearDown}, whether or
    not it is a cleanup of trial's.
    """

    def test_noCleanupBefore(self) -> None:
        """
        With no cleanup before the first thing opened, trialnet adds none of
        its own, and closes after the test's later cleanups and before its
        C{tearDown}.
        """
        events, result, numbers = recorded()
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            events,
            [
                "cleanups when opened: 0",
                "cleanup added by the test",
                "trialnet's teardown closed the connection",
                "tearDown",
            ],
        )
        self.assertTrue(refuses(numbers[0]))

    def test_cleanupBefore(self) -> None:
        """
        With a cleanup before the first thing opened, the teardown is a
        cleanup, and runs between the later cleanups and the earlier one.
        """
        events, result, _ = recorded(setUpCleanup=True)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            events,
            [
                "cleanups when opened: 2",
                "cleanup added by the test",
                "trialnet's teardown closed the connection",
                "cleanup added in setUp",
                "tearDown",
            ],
        )

    def test_cleanupsNotAList(self) -> None:
        """
        A test case whose cleanups are not trial's plain list (here, a list
        of its own class) gets the teardown as a cleanup, in the same place.
        """

        class Cleanups(list):  # type: ignore[type-arg]
            pass

        class OwnCleanups(NetworkTestCase):
            def __init__(self, methodName: str) -> None:
                super().__init__(methodName)
                self._cleanups = Cleanups()

        events, result, _ = recorded(OwnCleanups)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(
            events,
            [
                "cleanups when opened: 1",
                "cleanup added by the test",
                "trialnet's teardown closed the connection",
                "tearDown",
            ],
        )

    def test_shortTimeout(self) -> None:
        """
        A test whose timeout leaves C{tearDown} too little time after a
        teardown that ran to its bounds gets the teardown as a cleanup, with
        a timeout of its own.
        """
        events, result, _ = recorded(timeout=10, disconnectTimeout=4.5)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertEqual(events[0], "cleanups when opened: 1")
        self.assertEqual(
            events[1:],
            [
                "cleanup added by the test",
                "trialnet's teardown closed the connection",
                "tearDown",
            ],
        )

    def test_setUpFails(self) -> None:
        """
        When C{setUp} opens, then fails, trial runs the cleanups and no
        C{tearDown}: the teardown still closes, after the later cleanups,
        and the port no longer listens.
        """
        events, result, numbers = recorded(setUpFails=True)
        self.assertEqual(errorTypes(result), [RuntimeError])
        self.assertEqual(
            events,
            [
                "cleanups when opened: 0",
                "cleanup added by the test",
                "trialnet's teardown closed the connection",
            ],
        )
        self.assertTrue(refuses(numbers[0]))

    def test_teardownFails(self) -> None:
        """
        A teardown that had to abort fails the test with its report, and
        C{tearDown} still runs after it.
        """
        events, result, _ = recorded(stuck=True, disconnectTimeout=0.3)
        self.assertEqual(errorTypes(result), [TeardownError])
        self.assertEqual(events[-1], "tearDown")

    def test_teardownAndTearDownFail(self) -> None:
        """
        When both the teardown and C{tearDown} fail, the test reports both,
        the teardown's first, as it would for a failing cleanup.
        """
        events, result, _ = recorded(
            stuck=True, tearDownFails=True, disconnectTimeout=0.3
        )
        self.assertEqual(errorTypes(result), [TeardownError, RuntimeError])
        self.assertEqual(events[-1], "tearDown")
