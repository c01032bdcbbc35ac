"""
Sample tests of C{spawnServer()} through trialnet's C{network} fixture, run
in a pytest process by C{tests/processes/test_pytest.py}, which checks
their outcomes.  The file name does not start with C{test_}, so neither
trial nor pytest collects it from the suite.
"""

from __future__ import annotations

import os
import sys

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol

from trialnet import Network, Recorder

#: The children of the suite's process tests (pytest puts this directory
#: on the path, not the one above).
CHILDREN = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "processes",
    "children.py",
)

#: A child the code under test starts: says so, then sleeps.
PLAIN_CHILD = "import time\nprint('a plain child', flush=True)\ntime.sleep(60)\n"


@pytest_twisted.ensureDeferred
async def test_activated(network: Network) -> None:
    """
    A Twisted server in a child serves on the socket it inherits.
    """
    server = await network.spawnServer([sys.executable, "-I", CHILDREN, "activated"])
    client = await network.connect(server, Recorder())
    client.send(b"ping")
    assert await client.readBytes(4) == b"ping"


@pytest_twisted.ensureDeferred
async def test_diedDuringTest(network: Network) -> None:
    """
    A child that ends during the test fails it at its teardown.
    """
    argv = [sys.executable, "-I", CHILDREN, "exitsAfter", "0"]
    server = await network.spawnServer(argv)
    await server._whenClosed()


@pytest_twisted.ensureDeferred
async def test_strictNamesOnlyTheCodes(network: Network) -> None:
    """
    Under strict cleanup, the server child is stopped unnamed; the child
    the code under test started is named as left running.
    """
    from twisted.internet import reactor

    network.strictCleanup = True
    await network.spawnServer([sys.executable, "-I", CHILDREN, "silent"])
    ready: Deferred[None] = Deferred()

    class Ready(ProcessProtocol):
        def outReceived(self, data: bytes) -> None:
            if not ready.called:
                ready.callback(None)

    reactor.spawnProcess(
        Ready(),
        sys.executable,
        [sys.executable, "-c", PLAIN_CHILD],
        env=None,
    )
    await ready
