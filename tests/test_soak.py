"""
The soak: thousands of sample tests mixing every stream transport and every
outcome, checking that nothing grows.  Off by default; turn it on with
C{TRIALNET_SOAK=N} (the number of tests, 10000 for the full soak):

    TRIALNET_SOAK=10000 .venv/bin/python -m twisted.trial tests.test_soak
"""

from __future__ import annotations

import os
import resource
import time
from collections import Counter

from twisted.trial.unittest import SynchronousTestCase
from twisted.trial.util import DirtyReactorAggregateError

from trialnet import NetworkTestCase, TeardownError

from .helpers import (
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    errorTypes,
    openFileCount,
    recorders,
    runSample,
    warmUp,
)
from .transports import TCP4, TLS, UNIX, StreamTransport

SOAK = int(os.environ.get("TRIALNET_SOAK", "0"))

#: How much the peak RSS may grow from the first tenth of the soak to its
#: end, in MiB.
RSS_GROWTH_LIMIT_MIB = 20.0


class HangsUp(LoggingProtocol):
    """
    A server end that closes at once.
    """

    def connectionMade(self) -> None:
        super().connectionMade()
        self.transport.loseConnection()  # type: ignore[union-attr]


def sample(transport: StreamTransport, outcome: str) -> type[NetworkTestCase]:
    """
    A sample test over C{transport} that ends in C{outcome}.
    """
    events = Events()
    if outcome == "stuck":
        serverFactory = LoggingFactory(events, "server", Stuck)
        clientFactory = LoggingFactory(events, "client", Stuck)
    elif outcome == "server closes":
        serverFactory = LoggingFactory(events, "server", HangsUp)
        clientFactory = LoggingFactory(events, "client")
    else:
        serverFactory, clientFactory = recorders(events)
    serverFactory.noisy = clientFactory.noisy = False

    class Sample(NetworkTestCase):
        disconnectTimeout = 0.05

        async def test_it(self) -> None:
            port = transport.listen(self, serverFactory)
            client = await self.connect(port, clientFactory)
            if outcome == "fails":
                raise RuntimeError("the test body fails")
            if outcome == "server closes":
                await self.whenClosed(client)
                return
            server = await self.serverProtocolFor(client)
            client.transport.write(b"x")  # type: ignore[attr-defined]
            await server.waitForData()  # type: ignore[attr-defined]

    return Sample


class SoakTests(SynchronousTestCase):
    """
    Long runs stay flat.
    """

    skip = None if SOAK else "set TRIALNET_SOAK=N to run N soak tests"

    def test_soak(self) -> None:
        """
        N sample tests cycling over TCP, UNIX and TLS and over passing,
        failing, server-closes-first and stuck outcomes: every outcome is the
        expected one (never a dirty reactor), the open file count ends where
        it began, and peak RSS grows less than L{RSS_GROWTH_LIMIT_MIB}.
        """
        transports = [TCP4(), UNIX(), TLS()]
        outcomes = ["passes", "fails", "server closes", "stuck"]
        expected = {
            "passes": [],
            "fails": [RuntimeError],
            "server closes": [],
            "stuck": [TeardownError],
        }
        warmUp()
        files = openFileCount()
        started = time.monotonic()
        seen: Counter[str] = Counter()
        rssAtTenth = 0.0
        for number in range(SOAK):
            transport = transports[number % len(transports)]
            outcome = outcomes[(number // len(transports)) % len(outcomes)]
            result = runSample(sample(transport, outcome))
            errors = errorTypes(result)
            self.assertNotIn(DirtyReactorAggregateError, errors)
            self.assertEqual(errors, expected[outcome], (number, outcome))
            seen[outcome] += 1
            if number == SOAK // 10:
                rssAtTenth = _peakMiB()
        elapsed = time.monotonic() - started
        growth = _peakMiB() - rssAtTenth

        print(
            f"\nsoak: {SOAK} tests in {elapsed:.1f}s ({dict(seen)}); open files "
            f"{files} -> {openFileCount()}; peak RSS {rssAtTenth:.1f} -> "
            f"{_peakMiB():.1f} MiB (growth {growth:.1f} MiB)"
        )
        self.assertEqual(openFileCount(), files)
        self.assertLess(growth, RSS_GROWTH_LIMIT_MIB)


def _peakMiB() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
