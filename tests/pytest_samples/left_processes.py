"""
Sample tests of the C{network} fixture that leave child processes running,
run in a pytest process by C{tests/processes/test_fixture.py}.  Each writes
its child's pid to the file named in C{TRIALNET_SAMPLE_PORTS}, for the outer
test to check that no child is left.  The file name does not start with
C{test_}, so neither trial nor pytest collects it from the suite.
"""

from __future__ import annotations

import os
import sys

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol

from trialnet import Network

SLEEPER = "import time\ntime.sleep(60)\n"
STUBBORN = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGQUIT, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


class Ready(ProcessProtocol):
    """
    Tells of its child's first output.
    """

    def __init__(self) -> None:
        self.ready: Deferred[None] = Deferred()

    def outReceived(self, data: bytes) -> None:
        if not self.ready.called:
            self.ready.callback(None)


def started(program: str) -> Ready:
    """
    Start C{program} on the reactor, as the code under test would, and
    write its pid down.
    """
    from twisted.internet import reactor

    protocol = Ready()
    process = reactor.spawnProcess(
        protocol, sys.executable, [sys.executable, "-c", program], env=None
    )
    with open(os.environ["TRIALNET_SAMPLE_PORTS"], "a") as f:
        f.write(f"{process.pid}\n")
    return protocol


def test_stopped(network: Network) -> None:
    started(SLEEPER)


@pytest_twisted.ensureDeferred
async def test_killed(network: Network) -> None:
    network.processTimeout = 0.3
    await started(STUBBORN).ready


def test_processTimeoutOption(network: Network) -> None:
    assert network.processTimeout == 5.0
