"""
The benchmark's test written with carly, the closest peer: a trial suite
that does the same Twisted work per test as the others (listen on 127.0.0.1
port 0, connect one client, wait until both ends are connected, echo 4
bytes, tear down waiting for the port and both ends), with carly's own
C{Context}, C{makeTCPServer} and C{makeTCPClient} and its cleanup as the
test's cleanup, as carly's documentation writes it.

carly is installed by the C{bench} extra, not by C{test}: C{benchmarks.run}
skips this row, saying why, where it is missing.  Like the hand-written
teardown, carly's closes the client and waits for the server to read the
client's close; it hooks the protocol classes (not each instance) and does
not observe what the code under test opens by itself.

carly's waits time out after 0.2 s unless C{CARLY_MINIMUM_TIMEOUT} says
more; a loaded machine (or valgrind) can take that long for one turn, so
this module asks for 30 s, which only a hang would reach.

C{TRIALNET_BENCH_TESTS} sets how many tests the suite has.
"""

from __future__ import annotations

import os

from carly import Context
from carly.tcp import makeTCPClient, makeTCPServer
from twisted.trial import unittest

from .cases import Client, Echo, QuietClientFactory, QuietFactory, _repeat

os.environ.setdefault("CARLY_MINIMUM_TIMEOUT", "30")


class CarlyEcho(Echo):
    """
    The echo server's protocol, a class of its own: carly hooks the class's
    C{connectionMade} and C{connectionLost} for the length of a test.
    """


class CarlyClient(Client):
    """
    The client's protocol, a class of its own for the same reason.
    """


async def _carly(self: unittest.TestCase) -> None:
    context = Context()
    self.addCleanup(context.cleanup)
    server = makeTCPServer(context, CarlyEcho, QuietFactory())
    client = await makeTCPClient(context, CarlyClient, server, QuietClientFactory())
    client.clientProtocol.transport.write(b"ping")
    await client.clientProtocol.echoed


CarlyTests = type("CarlyTests", (unittest.TestCase,), _repeat(_carly))
