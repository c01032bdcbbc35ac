"""
A sample test of trialnet's C{network} fixture with a server in another
process (C{tests/childServer.py}), run in a pytest process by
C{tests/sockets/test_otherProcess.py}, which checks its outcome.  The file name does
not start with C{test_}, so neither trial nor pytest collects it from the
suite.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.web.client import Agent, HTTPConnectionPool

from trialnet import Network


def _childServer() -> Any:
    """
    The module C{tests/childServer.py}, loaded from its file: pytest puts
    this directory on the path, not the one above.
    """
    path = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "childServer.py"
    )
    spec = importlib.util.spec_from_file_location("childServer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


childServer = _childServer()


@pytest.fixture(scope="module")
def httpsPort() -> Iterator[int]:
    # For the module: the server outlives the network's teardown, as one in
    # another process that the test does not stop would.
    from trialnet._sockets._tls import processAuthority

    child, port = childServer.start("https", childServer.serverPEM(processAuthority()))
    try:
        yield port
    finally:
        childServer.stop(child)


@pytest_twisted.ensureDeferred
async def test_bodyNotRead(httpsPort: int, network: Network) -> None:
    from twisted.internet import reactor

    agent = Agent(
        reactor,
        contextFactory=network.tlsAuthority.policyForHTTPS(),
        pool=HTTPConnectionPool(reactor, persistent=False),
    )
    response = await agent.request(b"GET", f"https://127.0.0.1:{httpsPort}/".encode())
    assert response.code == 200
