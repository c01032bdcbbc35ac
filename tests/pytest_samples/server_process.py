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

from trialnet import Network, Recorder

#: The children of the suite's process tests (pytest puts this directory
#: on the path, not the one above).
CHILDREN = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "processes",
    "children.py",
)


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
