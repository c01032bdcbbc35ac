"""
Every number of seconds trialnet takes passes the one check: a finite
C{int} or C{float}, never a C{bool}, NaN or infinity; positive for a bound,
zero or more for a delay.  A wrong type is a C{TypeError} and a wrong value
a C{ValueError}, both with the one message saying what was expected, raised
before anything is opened or scheduled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network, NetworkTestCase, Recorder

from ..helpers import Events, LoggingFactory, assertCleanRun, sample

#: The values no number of seconds may be, and the error each one gets.
BAD: list[tuple[object, type[Exception]]] = [
    (float("nan"), ValueError),
    (float("inf"), ValueError),
    (-1, ValueError),
    (True, TypeError),
    ("1", TypeError),
]

#: What each kind of number must be, after its name.
EXPECTED = {
    "bound": "must be a finite positive number of seconds (an int or a float)",
    "delay": ("must be a finite number of seconds, zero or more (an int or a float)"),
    "rate": "must be a finite positive number of bytes a second (an int or a float)",
}

#: One entry point: its label, the argument's name, its kind, and a call
#: that hands it one value.
Entry = tuple[str, str, str, Callable[[object], object]]


class Target:
    """
    An object with a method to wait for.
    """

    def method(self) -> None:
        pass


def recorderEntries(clock: Clock) -> list[Entry]:
    """
    The waits of a connected L{Recorder} whose bounds C{clock} schedules.
    """

    def recorder() -> Recorder:
        reader = Recorder()
        reader.clock = clock
        reader.makeConnection(StringTransport())
        return reader

    def withDefault(value: object) -> object:
        reader = recorder()
        reader.waitTimeout = value  # type: ignore[assignment]
        return reader.readLine()

    r = recorder
    return [
        ("readLine", "timeout", "bound", lambda v: r().readLine(timeout=v)),
        ("readBytes", "timeout", "bound", lambda v: r().readBytes(1, v)),
        ("waitForBytes", "timeout", "bound", lambda v: r().waitForBytes(1, v)),
        (
            "waitForDelimiter",
            "timeout",
            "bound",
            lambda v: r().waitForDelimiter(b"\n", v),
        ),
        ("waitForClose", "timeout", "bound", lambda v: r().waitForClose(v)),
        ("Recorder.waitTimeout", "waitTimeout", "bound", withDefault),
    ]


def networkEntries(case: NetworkTestCase, events: Events) -> list[Entry]:
    """
    The entry points of a network that take seconds, on C{case}'s network
    and on networks of a memory reactor.
    """
    memory: list[Network] = []

    def network(**arguments: Any) -> Network:
        made = Network(MemoryReactorClock(), **arguments)
        memory.append(made)
        return made

    def setDisconnectTimeout(value: object) -> None:
        network().disconnectTimeout = value  # type: ignore[assignment]

    def waitTimeoutOfNetwork(value: object) -> object:
        made = network()
        made.waitTimeout = value  # type: ignore[assignment]
        return made.whenCalled(Target(), "method")

    port = case.listen(LoggingFactory(events, "server"))
    link = case.link(port)
    datagrams = case.datagramLink(case.listenUDP(DatagramProtocol()))
    client = Factory.forProtocol(Protocol)
    case.addCleanup(lambda: [made.close() for made in memory])
    return [
        (
            "Network(disconnectTimeout)",
            "disconnectTimeout",
            "bound",
            lambda v: network(disconnectTimeout=v),
        ),
        (
            "Network(waitTimeout)",
            "waitTimeout",
            "bound",
            lambda v: network(waitTimeout=v),
        ),
        ("disconnectTimeout =", "disconnectTimeout", "bound", setDisconnectTimeout),
        ("waitTimeout =", "waitTimeout", "bound", waitTimeoutOfNetwork),
        ("connect", "timeout", "bound", lambda v: case.connect(port, client, v)),  # type: ignore[call-overload]
        ("clientEndpoint", "timeout", "bound", lambda v: case.clientEndpoint(port, v)),  # type: ignore[arg-type]
        ("agent", "connectTimeout", "bound", lambda v: case.agent(connectTimeout=v)),  # type: ignore[arg-type]
        (
            "whenCalled",
            "timeout",
            "bound",
            lambda v: case.whenCalled(Target(), "method", v),  # type: ignore[arg-type]
        ),
        ("link.latency", "latency", "delay", lambda v: link.latency(v)),  # type: ignore[arg-type]
        ("link.latency jitter", "jitter", "delay", lambda v: link.latency(0, v)),  # type: ignore[arg-type]
        ("link.slice", "slice gap", "delay", lambda v: link.slice(1, v)),  # type: ignore[arg-type]
        (
            "link.upstream.latency",
            "latency",
            "delay",
            lambda v: link.upstream.latency(v),  # type: ignore[arg-type]
        ),
        ("link.bandwidth", "bandwidth", "rate", lambda v: link.bandwidth(v)),  # type: ignore[arg-type]
        ("datagramLink.delay", "delay", "delay", lambda v: datagrams.delay(v)),  # type: ignore[arg-type]
        (
            "datagramLink.delay jitter",
            "jitter",
            "delay",
            lambda v: datagrams.delay(0, v),  # type: ignore[arg-type]
        ),
    ]


class SecondsTests(SynchronousTestCase):
    """
    One check, one message, for every number of seconds.
    """

    def test_everyEntryPoint(self) -> None:
        """
        Each entry point that takes seconds refuses NaN, infinity, a
        negative number, a C{bool} and a string with the error and message
        of the one check, and neither connects nor schedules anything.
        """
        from twisted.internet import reactor

        events = Events()
        clock = Clock()
        wrong: list[str] = []
        unchanged: list[bool] = []

        def body(case: NetworkTestCase) -> None:
            entries = networkEntries(case, events) + recorderEntries(clock)
            before = set(reactor.getDelayedCalls())
            for label, what, kind, call in entries:
                for value, error in BAD:
                    expected = f"{what} {EXPECTED[kind]}, not {value!r}"
                    try:
                        call(value)
                    except Exception as e:
                        if type(e) is not error or str(e) != expected:
                            wrong.append(f"{label}({value!r}): {e!r}")
                    else:
                        wrong.append(f"{label}({value!r}) was accepted")
            unchanged.append(set(reactor.getDelayedCalls()) == before)
            unchanged.append(clock.getDelayedCalls() == [])

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(wrong, [])
        self.assertEqual(unchanged, [True, True])
        # The port started and stopped its factory; nothing connected.
        self.assertEqual(
            events.log, ["server factory started", "server factory stopped"]
        )

    def test_zeroIsADelay(self) -> None:
        """
        Zero is a delay of none, taken; it is no bound, refused as not
        positive.
        """
        clock = Clock()
        reader = Recorder()
        reader.clock = clock
        error = self.assertRaises(ValueError, reader.readLine, timeout=0)
        self.assertEqual(str(error), f"timeout {EXPECTED['bound']}, not 0")

        def body(case: NetworkTestCase) -> None:
            link = case.link(case.listen(Factory.forProtocol(Protocol)))
            link.latency(0, jitter=0.0)
            link.slice(1, gap=0)

        assertCleanRun(self, sample(body))
