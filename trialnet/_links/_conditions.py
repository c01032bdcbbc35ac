# -*- test-case-name: tests.links.test_conditions -*-
"""
The conditions of one direction of a link, and how bytes flow under them.

A L{Direction} is what a test sets (C{link.upstream}, C{link.downstream});
a L{Flow} is one connection's bytes in that direction, scheduled on the
reactor by the conditions in force when they arrived.  Nothing here touches
a socket: a flow is handed what to call, so it runs on a
L{Clock<twisted.internet.task.Clock>} as well as on a reactor.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Any

from .._core._seconds import checkAmount, checkSeconds

#: Bytes a flow buffers before it stops reading from its source.
HIGH_WATER = 256 * 1024
#: Bytes below which a flow reads from its source again.
LOW_WATER = 64 * 1024
#: Seconds between two slices by default: each slice reaches its reader in a
#: read of its own.
SLICE_GAP = 0.002


class Marker(Enum):
    """
    What a flow's queue may hold besides bytes: a value of its own type, so
    that no bytes are ever taken for one.
    """

    #: The source closed in an orderly way.
    END = "end"
    #: The source's connection was aborted.
    ABORT = "abort"
    #: The limit was reached.
    LIMIT = "limit"


END = Marker.END
ABORT = Marker.ABORT
LIMIT = Marker.LIMIT

#: One item of a flow's queue.
Item = bytes | Marker


def _count(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {value!r}")
    if value < 1:
        raise ValueError(f"{what} must be at least 1, not {value!r}")
    return value


class Direction:
    """
    The conditions of one direction of a link (C{link.upstream}, client to
    server, or C{link.downstream}, server to client); they apply to the
    bytes that arrive after they are set, on every connection through the
    link, and combine.

    @ivar name: C{"upstream"} or C{"downstream"}.
    """

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self._random = random.Random(f"{seed}/{name}")
        self.flows: list[Flow] = []
        # Counts the limits set: a flow counts bytes from the latest.
        self.limitEpoch = 0
        self._reset()

    def _reset(self) -> None:
        self.delay = 0.0
        self.jitter = 0.0
        self.rate: float | None = None
        self.sliceSize: int | None = None
        self.sliceGap = SLICE_GAP
        self.limitBytes: int | None = None
        self.held = False
        self.blackholed = False

    def __repr__(self) -> str:
        return f"<{self.name} {self.describe()}>"

    def describe(self) -> str:
        """
        @return: The conditions in force, as text (C{"clear"} when none).
        """
        parts = []
        if self.delay or self.jitter:
            parts.append(f"latency {self.delay}s+-{self.jitter}s")
        if self.rate is not None:
            parts.append(f"bandwidth {self.rate:g}B/s")
        if self.sliceSize is not None:
            parts.append(f"slice {self.sliceSize}")
        if self.limitBytes is not None:
            parts.append(f"limit {self.limitBytes}")
        parts.extend(
            word
            for word, on in (("held", self.held), ("blackholed", self.blackholed))
            if on
        )
        return ", ".join(parts) or "clear"

    def latency(self, seconds: float, jitter: float = 0.0) -> None:
        """
        Delay every chunk of bytes by C{seconds}, give or take up to
        C{jitter} (drawn from the link's seeded random source); the order of
        the bytes is kept, as TCP keeps it.

        @raise TypeError: If either is not an int or a float (a bool is not).
        @raise ValueError: If either is negative, NaN or infinite.
        """
        delay = checkSeconds(seconds, "latency", zero=True)
        spread = checkSeconds(jitter, "jitter", zero=True)
        self.delay, self.jitter = delay, spread

    def bandwidth(self, bytesPerSecond: float) -> None:
        """
        Deliver at most C{bytesPerSecond} bytes a second.

        @raise TypeError: If it is not an int or a float (a bool is not).
        @raise ValueError: If it is not positive, or NaN or infinite.
        """
        self.rate = checkAmount(bytesPerSecond, "bandwidth", "bytes a second")

    def slice(self, size: int, gap: float = SLICE_GAP) -> None:
        """
        Deliver in writes of at most C{size} bytes, C{gap} seconds apart, so
        that the reader gets them in as many reads (a parser's worst case).

        @raise TypeError: If C{size} is not an int, or C{gap} not an int or
            a float.
        @raise ValueError: If C{size} is below 1, or C{gap} negative, NaN
            or infinite.
        """
        self.sliceSize = _count(size, "slice size")
        self.sliceGap = checkSeconds(gap, "slice gap", zero=True)

    def limit(self, count: int) -> None:
        """
        Deliver the next C{count} bytes of each connection in this
        direction (counted from now, so that a TLS handshake done already
        does not count), then close both sides of that connection in an
        orderly way.

        @raise TypeError: If C{count} is not an int.
        @raise ValueError: If it is below 1.
        """
        self.limitBytes = _count(count, "limit")
        self.limitEpoch += 1

    def hold(self) -> None:
        """
        Keep every byte (and close) that arrives, until L{release} or
        L{clear}.
        """
        self.held = True

    def release(self) -> None:
        """
        Deliver what was held, in order, under the other conditions, and
        stop holding.
        """
        self.held = False
        for flow in list(self.flows):
            flow.release()

    def blackhole(self) -> None:
        """
        Forward nothing: bytes that arrive are dropped, and a close is not
        passed on until L{clear}, so the peer seems to have vanished.
        """
        self.blackholed = True

    def clear(self) -> None:
        """
        Back to a clean pass-through: held bytes are delivered, a close kept
        back by L{blackhole} is passed on.
        """
        self._reset()
        for flow in list(self.flows):
            flow.release()

    def delayOf(self) -> float:
        """
        @return: The delay of the next chunk: the latency, with jitter drawn
            from the seeded random source.
        """
        if not self.jitter:
            return self.delay
        return max(0.0, self.delay + self._random.uniform(-self.jitter, self.jitter))


class Flow:
    """
    One connection's bytes in one direction.

    @ivar queued: Bytes received and not yet delivered.
    """

    def __init__(
        self,
        clock: Any,
        direction: Direction,
        write: Callable[[bytes], None],
        act: Callable[[Marker], None],
        pause: Callable[[], None],
        resume: Callable[[], None],
    ) -> None:
        """
        @param write: Delivers bytes to the destination.
        @param act: Does what an L{END}, L{ABORT} or L{LIMIT} says.
        @param pause: Stops reading from the source.
        @param resume: Reads from the source again.
        """
        self._clock = clock
        self._direction = direction
        self._write = write
        self._act = act
        self._pause = pause
        self._resume = resume
        self._held: list[Item] = []
        self._queue: deque[tuple[float, Item]] = deque()
        self._lastDue = -math.inf
        self._timer: Any = None
        self._passed = 0
        self._limitEpoch = direction.limitEpoch
        self._done = False
        self._paused = False
        self._clean = False
        self.queued = 0
        direction.flows.append(self)

    def receive(self, data: bytes) -> None:
        """
        The source sent C{data}.
        """
        conditions = self._conditions()
        if self._done or conditions.blackholed:
            return
        limit = conditions.limitBytes
        if conditions.limitEpoch != self._limitEpoch:
            self._limitEpoch, self._passed = conditions.limitEpoch, 0
        items: list[Item] = [data]
        if limit is not None and self._passed + len(data) >= limit:
            items = [data[: limit - self._passed], LIMIT]
            self._done = True
        self._passed += len(data)
        self._add(items, conditions)

    def end(self, aborted: bool) -> None:
        """
        The source closed; the close follows its bytes, unless the
        conditions keep it back.
        """
        if self._done:
            return
        self._done = True
        self._add([ABORT if aborted else END], self._conditions())

    def release(self) -> None:
        """
        The conditions changed: deliver what was held, or kept back.
        """
        conditions = self._conditions()
        if conditions.held or conditions.blackholed:
            return
        held, self._held = self._held, []
        self._schedule(held, conditions)

    def passThrough(self) -> None:
        """
        From now on, forward everything at once, whatever the conditions:
        what is queued or held is delivered now, so that closes through the
        link (TLS's included) complete.
        """
        self._clean = True
        held, self._held = self._held, []
        pending = [item for _, item in self._queue] + held
        self._queue.clear()
        self._lastDue = -math.inf
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._schedule(pending, self._conditions())

    def stop(self) -> None:
        """
        Drop everything and cancel the timer: the connection is gone.
        """
        self._done = True
        self._held = []
        self._queue.clear()
        self.queued = 0
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self in self._direction.flows:
            self._direction.flows.remove(self)

    # Inside

    def _conditions(self) -> Direction:
        if self._clean:
            return _CLEAN
        return self._direction

    def _add(self, items: list[Item], conditions: Direction) -> None:
        self.queued += sum(len(item) for item in items if isinstance(item, bytes))
        if conditions.held or conditions.blackholed:
            # Only a close comes here while blackholed: it is kept back.
            self._held.extend(items)
        else:
            self._schedule(items, conditions)
        if self.queued > HIGH_WATER and not self._paused:
            self._paused = True
            self._pause()

    def _schedule(self, items: list[Item], conditions: Direction) -> None:
        if not items:
            return
        now = self._clock.seconds()
        start = max(now + conditions.delayOf(), self._lastDue)
        size, rate = conditions.sliceSize, conditions.rate
        for item in items:
            pieces: list[Item] = [item]
            if isinstance(item, bytes) and size is not None:
                pieces = [item[i : i + size] for i in range(0, len(item), size)]
            for piece in pieces:
                if size is not None and isinstance(piece, bytes):
                    start = max(start, self._lastDue + conditions.sliceGap)
                if rate is not None and isinstance(piece, bytes):
                    start += len(piece) / rate
                self._queue.append((start, piece))
                self._lastDue = start
        self._arm(now)

    def _arm(self, now: float) -> None:
        if self._timer is not None or not self._queue:
            return
        wait = max(0.0, self._queue[0][0] - now)
        self._timer = self._clock.callLater(wait, self._deliver)

    def _deliver(self) -> None:
        self._timer = None
        now = self._clock.seconds()
        sliced = self._conditions().sliceSize is not None
        while self._queue and self._queue[0][0] <= now:
            _, item = self._queue.popleft()
            if isinstance(item, Marker):
                self._act(item)
                continue
            self.queued -= len(item)
            if item:
                self._write(item)
            if sliced and self._queue:
                # One slice a turn, even when late: two written in one turn
                # would arrive in one read.
                due, following = self._queue[0]
                gap = self._conditions().sliceGap
                self._queue[0] = (max(due, now + gap), following)
                break
        if self._paused and self.queued < LOW_WATER:
            self._paused = False
            self._resume()
        self._arm(now)


#: The conditions of a link during its teardown: none.
_CLEAN = Direction("clean", 0)
