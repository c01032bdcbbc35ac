"""
An echo server tested under pytest with pytest-twisted and trialnet's
C{network} fixture.  Run it with C{pytest examples/pytest_echo.py}; the
file name does not start with C{test_}, so trial and the suite's own pytest
run do not collect it (C{tests/test_docs.py} runs it).
"""

import pytest_twisted
from twisted.internet.protocol import Factory, Protocol

from trialnet import Network, Recorder


class Echo(Protocol):
    """
    Writes back whatever it receives.
    """

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


@pytest_twisted.ensureDeferred
async def test_echo(network: Network) -> None:
    """
    Bytes sent to the server come back; the fixture closes the port and both
    ends after the test, and waits for them.
    """
    port = network.listen(Factory.forProtocol(Echo))
    client = await network.connect(port, Recorder())
    client.send(b"ping")
    assert await client.readBytes(4) == b"ping"


@pytest_twisted.ensureDeferred
async def test_serverSide(network: Network) -> None:
    """
    The server's end of a connection is at hand, typed as the class asked
    for.
    """
    port = network.listen(Factory.forProtocol(Echo))
    client = await network.connect(port, Recorder())
    server = await network.serverProtocolFor(client, Echo)
    assert server.transport is not None and client.transport is not None
    assert server.transport.getPeer() == client.transport.getHost()
