"""
Numbers of seconds at the edges of what a float holds: too large for one,
infinite or NaN.  Each is refused with a C{ValueError} saying what was
expected, before anything is opened, since an infinite bound would make a
connection attempt or the teardown wait for ever.
"""

from __future__ import annotations

import math

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network, NetworkTestCase

from .helpers import (
    Events,
    LoggingFactory,
    assertCleanRun,
    errorTypes,
    errorValues,
    sample,
)

#: What no bound in seconds may be, and a word of the error each one gets.
UNBOUNDED: list[tuple[object, str]] = [
    (10**400, "too large for a float"),
    (float("inf"), "finite"),
    (float("-inf"), "finite"),
    (float("nan"), "finite"),
]

#: What each refusal asks for, after the argument's name.
EXPECTED = "must be a finite positive number of seconds"


class DisconnectTimeoutTests(SynchronousTestCase):
    """
    The teardown's bound, C{disconnectTimeout}.
    """

    def test_networkRefuses(self) -> None:
        """
        L{Network} refuses a C{disconnectTimeout} too large for a float,
        infinite or NaN with a C{ValueError} that names the argument and
        asks for a finite positive number of seconds.
        """
        for value, word in UNBOUNDED:
            error = self.assertRaises(
                ValueError, Network, MemoryReactorClock(), disconnectTimeout=value
            )
            message = str(error)
            self.assertIn(f"disconnectTimeout {EXPECTED}", message)
            self.assertIn(word, message)

    def test_hugeNegative(self) -> None:
        """
        A negative int too large for a float is refused as not positive, with
        its size rather than its hundreds of digits.
        """
        error = self.assertRaises(
            ValueError, Network, MemoryReactorClock(), disconnectTimeout=-(10**400)
        )
        self.assertEqual(
            str(error),
            "disconnectTimeout must be positive, not a negative int of about "
            "401 digits",
        )

    def test_largestFloat(self) -> None:
        """
        The largest finite float is still a bound, and is kept as it is.
        """
        network = Network(MemoryReactorClock(), disconnectTimeout=2**1023)
        self.assertEqual(network.disconnectTimeout, float(2**1023))

    def test_testCaseAttribute(self) -> None:
        """
        A L{NetworkTestCase} whose C{disconnectTimeout} is infinite fails at
        its first C{listen} with the C{ValueError}, and listens nowhere.
        """
        events = Events()
        factory = LoggingFactory(events, "server")

        def body(case: NetworkTestCase) -> None:
            case.listen(factory)

        result = sample(body, disconnectTimeout=math.inf)

        self.assertEqual(errorTypes(result), [ValueError])
        self.assertIn(f"disconnectTimeout {EXPECTED}", str(errorValues(result)[0]))
        self.assertEqual(events.log, [])


class ConnectTimeoutTests(SynchronousTestCase):
    """
    The bound of a connection attempt, C{connect(timeout=...)} and
    C{clientEndpoint(timeout=...)}.
    """

    def refusedConnects(self, connect: str) -> tuple[list[str], Events]:
        """
        Run a sample that listens, then calls its C{connect} or
        C{clientEndpoint} method with each of L{UNBOUNDED} as the timeout.

        @return: The message of each C{ValueError} raised, and the events of
            the server and client factories.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        clientFactory = LoggingFactory(events, "client")
        messages: list[str] = []

        def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            method = getattr(case, connect)
            for value, _ in UNBOUNDED:
                if connect == "connect":
                    arguments: tuple[object, ...] = (port, clientFactory, value)
                else:
                    arguments = (port, value)
                error = case.assertRaises(ValueError, method, *arguments)
                messages.append(str(error))

        result = sample(body)

        assertCleanRun(self, result)
        return messages, events

    def test_connectRefuses(self) -> None:
        """
        C{connect} refuses a timeout too large for a float, infinite or NaN
        with a C{ValueError} asking for a finite positive number of seconds,
        before the client factory is started or the server accepts anything.
        """
        messages, events = self.refusedConnects("connect")

        self.assertEqual(len(messages), len(UNBOUNDED))
        for message, (_, word) in zip(messages, UNBOUNDED, strict=True):
            self.assertIn(
                "timeout must be a finite positive number of seconds", message
            )
            self.assertIn(word, message)
        self.assertEqual(
            events.log, ["server factory started", "server factory stopped"]
        )

    def test_clientEndpointRefuses(self) -> None:
        """
        C{clientEndpoint} refuses the same timeouts when it is made, before
        anything connects through it.
        """
        messages, events = self.refusedConnects("clientEndpoint")

        self.assertEqual(len(messages), len(UNBOUNDED))
        for message in messages:
            self.assertIn(
                "timeout must be a finite positive number of seconds", message
            )
        self.assertEqual(
            events.log, ["server factory started", "server factory stopped"]
        )
