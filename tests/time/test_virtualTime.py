"""
Virtual time on real sockets: a test with C{virtualTime = True} sees the
reactor's clock jump to its next timer whenever nothing else can happen,
while its bytes still cross the loopback; trial's timeout, trialnet's own
bounds and everything after the test stay real.
"""

# ruff: noqa: N999

from __future__ import annotations

import time
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase, TestCase

from trialnet import Network, NetworkTestCase, Recorder
from trialnet._time import _busy
from trialnet._time._clock import VirtualClock
from trialnet._time._virtual import virtualClockOf

from ..helpers import assertPassed, errorTypes, errorValues, problemsOf, sample


def theReactor() -> Any:
    from twisted.internet import reactor

    return reactor


class Echo(Protocol):
    """
    Sends back what it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class LateSender(Protocol):
    """
    Sends one line a thousand (virtual) seconds after the connection is made.
    """

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.call = theReactor().callLater(1000, self.transport.write, b"late\n")

    def connectionLost(self, reason: object = None) -> None:
        if self.call.active():
            self.call.cancel()


#: The virtual timeout that bytes in flight, a thread or a child must beat:
#: a wrong jump goes straight to the first virtual timer however far it is,
#: so an hour catches one as surely as a second would, while no real stall
#: of a loaded machine reaches it.
RACE = 3600


def recordJumps(test: SynchronousTestCase) -> list[str]:
    """
    Record, until C{test} ends, each jump of a virtual clock with what the
    reactor held then: a race lost to a virtual timeout names the state that
    let the clock jump.
    """
    jumps: list[str] = []
    jump = VirtualClock._jump

    def recording(clock: VirtualClock, target: float) -> None:
        reactor = clock.reactor
        lines = [
            f"a jump of {target - clock.seconds():g} s after "
            f"{time.monotonic() - clock._lastIO:.4f} real s without I/O"
        ]
        for reader in reactor.getReaders():
            sock = getattr(reader, "socket", None)
            kernel: object = None
            try:
                if sock is not None:
                    kernel = _busy._tcpInfo(sock)
            except (OSError, TypeError, ValueError) as error:
                kernel = error
            lines.append(f"  reading {reader!r}: TCP state, unacked, unsent {kernel}")
        lines.extend(f"  writing {writer!r}" for writer in reactor.getWriters())
        jumps.append("\n".join(lines))
        jump(clock, target)

    test.patch(VirtualClock, "_jump", recording)
    return jumps


def assertRaceWon(
    test: SynchronousTestCase, result: TestResult, jumps: list[str]
) -> None:
    """
    Assert a sample passed, naming its clock's jumps if it did not.
    """
    if result.errors or result.failures or result.successes != 1:
        test.fail(
            "the sample did not pass cleanly:\n"
            + "\n".join(problemsOf(result))
            + "\nits clock's jumps:\n"
            + ("\n".join(jumps) or "none")
        )


class VirtualTimeTests(SynchronousTestCase):
    """
    The jump, and what stays real.
    """

    def test_anHourIsInstant(self) -> None:
        """
        An hour of C{deferLater} passes at once: the reactor's clock moves an
        hour, the real clock a moment.
        """
        seen: list[float] = []

        async def body(case: NetworkTestCase) -> None:
            reactor = theReactor()
            before, real = reactor.seconds(), time.monotonic()
            await deferLater(reactor, 3600, lambda: None)
            seen.extend([reactor.seconds() - before, time.monotonic() - real])

        assertPassed(self, sample(body, virtualTime=True))
        virtualSeconds, realSeconds = seen
        self.assertGreaterEqual(virtualSeconds, 3600)
        self.assertLess(realSeconds, 10)

    def test_realAfterwards(self) -> None:
        """
        When a virtual test ends, the reactor's clock is real again: the
        next test reads the real time.
        """

        async def body(case: NetworkTestCase) -> None:
            await deferLater(theReactor(), 7200, lambda: None)

        assertPassed(self, sample(body, virtualTime=True))
        self.assertLess(abs(theReactor().seconds() - time.time()), 1)

    def test_roundTripsBeatVirtualTimeouts(self) -> None:
        """
        200 sequential request/response round trips on real sockets, each
        under an hour's virtual timeout on the reactor, never time out:
        bytes in flight never lose a race against a virtual timer.
        """
        jumps = recordJumps(self)

        async def body(case: NetworkTestCase) -> None:
            reactor = theReactor()
            port = case.listen(Factory.forProtocol(Echo))
            client = await case.connect(port, Recorder())
            payload = b"x" * 65536
            total = 0
            for _ in range(200):
                client.send(payload)
                total += len(payload)
                waiting = client.waitForBytes(total, timeout=60)
                waiting.addTimeout(RACE, reactor)
                await waiting

        assertRaceWon(self, sample(body, virtualTime=True), jumps)

    def test_bigTLSEchoBeatsVirtualTimeout(self) -> None:
        """
        A 4 MiB echo over TLS, whose bytes the kernel holds back at times
        (Nagle, delayed acknowledgements), beats an hour's virtual timeout.
        """
        jumps = recordJumps(self)

        async def body(case: NetworkTestCase) -> None:
            port = case.listenTLS(Factory.forProtocol(Echo))
            client = await case.connect(port, Recorder())
            size = 4 * 1024 * 1024
            client.send(b"x" * size)
            waiting = client.waitForBytes(size, timeout=60)
            waiting.addTimeout(RACE, theReactor())
            await waiting

        assertRaceWon(self, sample(body, virtualTime=True), jumps)

    def test_neverIdleIsRealTime(self) -> None:
        """
        A test whose connection never goes quiet (a ping-pong of real I/O)
        never jumps: its timer fires in real time.
        """
        took: list[float] = []

        class PingPong(Protocol):
            def dataReceived(self, data: bytes) -> None:
                assert self.transport is not None
                self.transport.write(data)

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Echo))
            client = await case.connect(port, Factory.forProtocol(PingPong))
            assert client.transport is not None
            client.transport.write(b"ping")
            started = time.monotonic()
            await deferLater(theReactor(), 0.3, lambda: None)
            took.append(time.monotonic() - started)

        assertPassed(self, sample(body, virtualTime=True))
        self.assertGreaterEqual(took[0], 0.25)

    def test_threadBeatsVirtualTimeout(self) -> None:
        """
        A thread at work for 0.3 real seconds beats an hour's virtual timeout:
        the clock does not jump while the reactor's pool works.
        """
        jumps = recordJumps(self)

        async def body(case: NetworkTestCase) -> None:
            working = deferToThread(time.sleep, 0.3)
            working.addTimeout(RACE, theReactor())
            await working

        assertRaceWon(self, sample(body, virtualTime=True), jumps)

    def test_childBeatsVirtualTimeout(self) -> None:
        """
        A child process that answers after 0.3 real seconds (within the
        stall allowance) beats an hour's virtual timeout.
        """
        jumps = recordJumps(self)

        class Child(ProcessProtocol):
            def __init__(self) -> None:
                self.ended: Deferred[bytes] = Deferred()
                self.output = b""

            def outReceived(self, data: bytes) -> None:
                self.output += data

            def processEnded(self, reason: object) -> None:
                self.ended.callback(self.output)

        async def body(case: NetworkTestCase) -> None:
            child = Child()
            theReactor().spawnProcess(
                child, "/bin/sh", ["sh", "-c", "sleep 0.3; echo done"], env={}
            )
            child.ended.addTimeout(RACE, theReactor())
            assert (await child.ended).strip() == b"done"

        assertRaceWon(self, sample(body, virtualTime=True), jumps)

    def test_trialTimeoutStaysReal(self) -> None:
        """
        A jump of 100,000 virtual seconds does not time the test out: trial's
        own timeout (here 5 s) stays real.
        """

        async def body(case: NetworkTestCase) -> None:
            await deferLater(theReactor(), 100_000, lambda: None)

        assertPassed(self, sample(body, virtualTime=True, timeout=5))

    def test_waitBoundsStayReal(self) -> None:
        """
        A wait's bound stays real: bytes a server sends a thousand virtual
        seconds on arrive within a wait bounded by 5 real seconds.
        """

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(LateSender))
            client = await case.connect(port, Recorder())
            line = await client.waitForDelimiter(b"\n", timeout=5)
            assert line.startswith(b"late"), line

        assertPassed(self, sample(body, virtualTime=True))

    def test_teardownInsideATimer(self) -> None:
        """
        A test whose last line awaits C{deferLater} begins its teardown
        inside the timer's callback; its connection still closes in order,
        and the clock is real afterwards.
        """

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Echo))
            await case.connect(port, Recorder())
            await deferLater(theReactor(), 60, lambda: None)

        started = time.monotonic()
        assertPassed(self, sample(body, virtualTime=True))
        self.assertLess(time.monotonic() - started, 10)
        self.assertLess(abs(theReactor().seconds() - time.time()), 1)

    def test_timerMadeAfterKeepsItsDelay(self) -> None:
        """
        A timer made in C{tearDown}, after the test ran an hour of virtual
        time, keeps the delay it had left when the clock turns real: trial's
        janitor finds it about 50 s from firing, neither due nor an hour out.
        """

        async def body(case: NetworkTestCase) -> None:
            await deferLater(theReactor(), 3600, lambda: None)

        class Sample(NetworkTestCase):
            virtualTime = True

            async def test_it(self) -> None:
                await body(self)

            def tearDown(self) -> None:
                theReactor().callLater(50, lambda: None)

        result = TestResult()
        Sample("test_it").run(result)
        text = "\n".join(problemsOf(result))
        self.assertIn("DirtyReactorAggregateError", text)
        self.assertRegex(text, r"\[4[89]\.\d+s\]")

    def test_notABool(self) -> None:
        """
        C{virtualTime} set to something that is not a C{bool} fails the test
        with a C{TypeError}, before anything is opened.
        """
        opened: list[object] = []

        def body(case: NetworkTestCase) -> None:
            opened.append(case.listen(Factory.forProtocol(Echo)))

        result = sample(body, virtualTime=1)
        self.assertEqual(errorTypes(result), [TypeError])
        self.assertIn("virtualTime must be True or False", str(errorValues(result)[0]))
        self.assertEqual(opened, [])

    def test_badBudgetAndStall(self) -> None:
        """
        A C{virtualTimeBudget} or C{virtualTimeStall} that is not a number
        of seconds fails the test before anything is opened; C{Network}
        refuses them too.
        """
        opened: list[object] = []

        def body(case: NetworkTestCase) -> None:
            opened.append(case.listen(Factory.forProtocol(Echo)))

        for attributes, error in (
            ({"virtualTimeBudget": -1.0}, ValueError),
            ({"virtualTimeStall": "1"}, TypeError),
        ):
            result = sample(body, virtualTime=True, **attributes)
            self.assertEqual(errorTypes(result), [error])
        self.assertEqual(opened, [])
        self.assertIsNone(virtualClockOf(theReactor()))
        with self.assertRaises(ValueError):
            Network(virtualTime=True, virtualTimeBudget=float("inf"))
        self.assertIsNone(virtualClockOf(theReactor()))

    def test_networkNotABool(self) -> None:
        """
        C{Network(virtualTime=...)} refuses what is not a C{bool}.
        """
        with self.assertRaises(TypeError):
            Network(virtualTime="yes")  # type: ignore[arg-type]

    def test_turnedOnLateIsRefused(self) -> None:
        """
        Turning C{virtualTime} on in C{setUp}, after the run read it, is
        refused with a C{ValueError}, never half-applied.
        """

        class Sample(NetworkTestCase):
            def setUp(self) -> None:
                self.listen(Factory.forProtocol(Echo))
                self.virtualTime = True

            def test_it(self) -> None:
                pass

        result = TestResult()
        Sample("test_it").run(result)
        self.assertEqual(errorTypes(result), [ValueError])
        self.assertIn("read once", str(errorValues(result)[0]))

    def test_droppedNetworkTurnsReal(self) -> None:
        """
        A L{Network} in virtual time dropped unclosed turns the reactor's
        clock real as it is freed: later networks are not refused.
        """
        import gc

        network = Network(virtualTime=True)
        self.assertIsNotNone(virtualClockOf(theReactor()))
        del network
        gc.collect()
        self.assertIsNone(virtualClockOf(theReactor()))
        self.assertNotIn("seconds", vars(theReactor()))
        Network(virtualTime=False)

    def test_realTestUnderVirtualNetwork(self) -> None:
        """
        A test in real time, run while a L{Network} in virtual time is open on
        the same reactor, fails with a C{ValueError} before its body runs,
        and the reactor's clock stays that network's.
        """
        network = Network(virtualTime=True)
        ran: list[bool] = []

        def body(case: NetworkTestCase) -> None:
            ran.append(True)

        result = sample(body)

        self.assertEqual(errorTypes(result), [ValueError])
        self.assertEqual(ran, [])
        self.assertIsNotNone(virtualClockOf(theReactor()))
        self.successResultOf(network.close())
        self.assertIsNone(virtualClockOf(theReactor()))

    def test_modesMustAgree(self) -> None:
        """
        A network asking for the other mode of time than a network open on
        the same reactor is a C{ValueError}, either way round.
        """
        seen: list[type[BaseException]] = []

        def body(case: NetworkTestCase) -> None:
            try:
                Network(virtualTime=False)
            except ValueError:
                seen.append(ValueError)

        assertPassed(self, sample(body, virtualTime=True))

        def realBody(case: NetworkTestCase) -> None:
            try:
                Network(virtualTime=True)
            except ValueError:
                seen.append(ValueError)

        assertPassed(self, sample(realBody))
        self.assertEqual(seen, [ValueError, ValueError])


class NetworkVirtualTimeTests(TestCase):
    """
    L{Network} made with C{virtualTime=True}, as a fixture of another
    runner would make it.
    """

    async def test_networkJumps(self) -> None:
        """
        A L{Network} made with C{virtualTime=True} makes the clock virtual
        until it is closed (an hour passes at once, with a connection open),
        then real again; trial's own timeout of this test stays real.
        """
        reactor = theReactor()
        network = Network(virtualTime=True)
        self.assertTrue(network.virtualTime)
        try:
            port = network.listen(Factory.forProtocol(Echo))
            client = await network.connect(port, Recorder())
            before = reactor.seconds()
            await deferLater(reactor, 3600, lambda: None)
            self.assertGreaterEqual(reactor.seconds() - before, 3600)
            client.send(b"ping")
            self.assertEqual(await client.waitForBytes(4, timeout=5), b"ping")
        finally:
            await network.close()
        self.assertLess(abs(reactor.seconds() - time.time()), 1)

    async def test_twoVirtualNetworksShareTheClock(self) -> None:
        """
        Two networks in virtual time share the reactor's clock: it turns
        real when the last of them is closed.
        """
        reactor = theReactor()
        first = Network(virtualTime=True)
        second = Network(virtualTime=True)
        await deferLater(reactor, 600, lambda: None)
        await first.close()
        self.assertIsNotNone(virtualClockOf(reactor))
        await second.close()
        self.assertIsNone(virtualClockOf(reactor))
        self.assertLess(abs(reactor.seconds() - time.time()), 1)
