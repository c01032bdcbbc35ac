"""
A link's conditions and the flows they schedule, on a
L{Clock<twisted.internet.task.Clock>}: when each byte is delivered, exactly.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from trialnet._links._conditions import END, LIMIT, Direction, Flow, Marker


class _Destination:
    """
    What a flow delivers to, with the time of each delivery.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.log: list[tuple[float, bytes | Marker]] = []
        self.pauses: list[str] = []

    def write(self, data: bytes) -> None:
        self.log.append((self.clock.seconds(), data))

    def act(self, action: Marker) -> None:
        self.log.append((self.clock.seconds(), action))


def flowOn(direction: Direction) -> tuple[Clock, Flow, _Destination]:
    clock = Clock()
    destination = _Destination(clock)
    flow = Flow(
        clock,
        direction,
        destination.write,
        destination.act,
        lambda: destination.pauses.append("pause"),
        lambda: destination.pauses.append("resume"),
    )
    return clock, flow, destination


def jitterSchedule(seed: int) -> list[tuple[float, bytes | Marker]]:
    """
    Deliver ten chunks, a second apart, under 0.5s of latency with 0.4s of
    jitter, and give back when each arrived.
    """
    direction = Direction("upstream", seed)
    direction.latency(0.5, jitter=0.4)
    clock, flow, destination = flowOn(direction)
    for index in range(10):
        flow.receive(b"%d" % index)
        clock.pump([0.01] * 100)
    return destination.log


class FlowTests(SynchronousTestCase):
    """
    L{Flow} delivers under the conditions of its L{Direction}.
    """

    def test_clear(self) -> None:
        """
        Without conditions, bytes are delivered on the next turn.
        """
        clock, flow, destination = flowOn(Direction("upstream", 1))
        flow.receive(b"abc")
        self.assertEqual(destination.log, [])
        clock.advance(0)
        self.assertEqual(destination.log, [(0, b"abc")])

    def test_latency(self) -> None:
        """
        Latency delays every chunk by that much.
        """
        direction = Direction("upstream", 1)
        direction.latency(0.25)
        clock, flow, destination = flowOn(direction)
        flow.receive(b"a")
        clock.advance(0.2)
        self.assertEqual(destination.log, [])
        clock.advance(0.05)
        self.assertEqual(destination.log, [(0.25, b"a")])

    def test_sameSeedSameSchedule(self) -> None:
        """
        Jitter drawn from the same seed gives the same delivery schedule
        twice; another seed gives another.
        """
        first = jitterSchedule(7)
        self.assertEqual(first, jitterSchedule(7))
        self.assertNotEqual(first, jitterSchedule(8))
        delays = [when - index for index, (when, _) in enumerate(first)]
        self.assertTrue(all(0.1 - 1e-9 <= delay <= 0.9 + 1e-9 for delay in delays))
        self.assertGreater(len({round(delay, 6) for delay in delays}), 1)

    def test_jitterKeepsOrder(self) -> None:
        """
        Chunks never overtake each other, whatever the jitter draws.
        """
        direction = Direction("upstream", 3)
        direction.latency(0.5, jitter=0.5)
        clock, flow, destination = flowOn(direction)
        for index in range(50):
            flow.receive(b"%d," % index)
            clock.advance(0.01)
        clock.advance(2)
        self.assertEqual(
            b"".join(item for _, item in destination.log if isinstance(item, bytes)),
            b"".join(b"%d," % index for index in range(50)),
        )

    def test_bandwidth(self) -> None:
        """
        At 100 bytes a second, 50 bytes take half a second to arrive.
        """
        direction = Direction("upstream", 1)
        direction.bandwidth(100)
        clock, flow, destination = flowOn(direction)
        flow.receive(b"x" * 50)
        clock.advance(0.49)
        self.assertEqual(destination.log, [])
        clock.advance(0.01)
        self.assertEqual(destination.log, [(0.5, b"x" * 50)])

    def test_slice(self) -> None:
        """
        Sliced bytes are delivered one slice a turn, a gap apart.
        """
        direction = Direction("upstream", 1)
        direction.slice(2, gap=0.1)
        clock, flow, destination = flowOn(direction)
        flow.receive(b"abcde")
        clock.pump([0] + [0.1] * 5)
        self.assertEqual(destination.log, [(0, b"ab"), (0.1, b"cd"), (0.2, b"e")])

    def test_limit(self) -> None:
        """
        After the limit, the rest is dropped and the flow says so.
        """
        direction = Direction("upstream", 1)
        direction.limit(4)
        clock, flow, destination = flowOn(direction)
        flow.receive(b"ab")
        flow.receive(b"cdef")
        flow.receive(b"gh")
        clock.advance(0)
        self.assertEqual(destination.log, [(0, b"ab"), (0, b"cd"), (0, LIMIT)])

    def test_holdRelease(self) -> None:
        """
        Held bytes and closes wait for release, then arrive in order.
        """
        direction = Direction("upstream", 1)
        direction.hold()
        clock, flow, destination = flowOn(direction)
        flow.receive(b"a")
        flow.receive(b"b")
        flow.end(aborted=False)
        clock.advance(5)
        self.assertEqual(destination.log, [])
        direction.release()
        clock.advance(0)
        self.assertEqual(destination.log, [(5, b"a"), (5, b"b"), (5, END)])

    def test_blackhole(self) -> None:
        """
        A blackhole drops bytes and keeps a close back until cleared.
        """
        direction = Direction("upstream", 1)
        direction.blackhole()
        clock, flow, destination = flowOn(direction)
        flow.receive(b"lost")
        flow.end(aborted=False)
        clock.advance(5)
        self.assertEqual(destination.log, [])
        direction.clear()
        clock.advance(0)
        self.assertEqual(destination.log, [(5, END)])

    def test_passThrough(self) -> None:
        """
        A flow made a pass-through delivers what is held or delayed at once.
        """
        direction = Direction("upstream", 1)
        direction.latency(10)
        clock, flow, destination = flowOn(direction)
        flow.receive(b"late")
        direction.hold()
        flow.receive(b"held")
        flow.passThrough()
        clock.advance(0)
        self.assertEqual(destination.log, [(0, b"late"), (0, b"held")])

    def test_stop(self) -> None:
        """
        A stopped flow leaves no timer behind.
        """
        direction = Direction("upstream", 1)
        direction.latency(10)
        clock, flow, _ = flowOn(direction)
        flow.receive(b"x")
        flow.stop()
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(direction.flows, [])

    def test_backPressure(self) -> None:
        """
        A flow stops reading from its source while much is queued, and reads
        again once it is delivered.
        """
        direction = Direction("upstream", 1)
        direction.hold()
        clock, flow, destination = flowOn(direction)
        flow.receive(b"x" * 300_000)
        self.assertEqual(destination.pauses, ["pause"])
        direction.release()
        clock.advance(0)
        self.assertEqual(destination.pauses, ["pause", "resume"])


class DirectionArgumentTests(SynchronousTestCase):
    """
    Bad conditions are refused with an error that says what was expected.
    """

    def test_refused(self) -> None:
        """
        Negative, zero or non-numeric values raise C{ValueError} or
        C{TypeError}, and change nothing.
        """
        direction = Direction("upstream", 1)
        cases = [
            (ValueError, direction.latency, (-1,)),
            (ValueError, direction.latency, (1, -0.5)),
            (ValueError, direction.latency, (float("inf"),)),
            (TypeError, direction.latency, ("1",)),
            (ValueError, direction.bandwidth, (0,)),
            (TypeError, direction.bandwidth, (None,)),
            (ValueError, direction.slice, (0,)),
            (TypeError, direction.slice, (1.5,)),
            (ValueError, direction.limit, (0,)),
            (TypeError, direction.limit, (True,)),
        ]
        for error, method, arguments in cases:
            self.assertRaises(error, method, *arguments)
        self.assertEqual(direction.describe(), "clear")
