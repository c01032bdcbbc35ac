"""
The suites the link benchmark compares: the same trialnet test (listen,
connect, wait for both ends, echo 4 bytes, tear down) straight to the port,
and through a pass-through link in front of it; and empty tests, whose time
is subtracted.

C{TRIALNET_BENCH_TESTS} sets how many tests each suite has.
"""

from __future__ import annotations

import os
from typing import cast

from trialnet import NetworkTestCase

from .cases import Client, Echo, QuietClientFactory, QuietFactory

COUNT = int(os.environ.get("TRIALNET_BENCH_TESTS", "200"))


async def _echo(self: NetworkTestCase, linked: bool) -> None:
    port = self.listen(QuietFactory.forProtocol(Echo))
    target = self.link(port) if linked else port
    # A subclass of Twisted's generic factory, typed as Twisted's own.
    client = cast(
        Client, await self.connect(target, QuietClientFactory.forProtocol(Client))
    )
    await self.serverProtocolFor(client)
    assert client.transport is not None
    client.transport.write(b"ping")
    await client.echoed


async def _direct(self: NetworkTestCase) -> None:
    await _echo(self, False)


async def _linked(self: NetworkTestCase) -> None:
    await _echo(self, True)


def _repeat(method: object) -> dict[str, object]:
    return {f"test_{i:05d}": method for i in range(COUNT)}


def _empty(self: NetworkTestCase) -> None:
    pass


EmptyTests = type("EmptyTests", (NetworkTestCase,), _repeat(_empty))
DirectTests = type("DirectTests", (NetworkTestCase,), _repeat(_direct))
LinkedTests = type("LinkedTests", (NetworkTestCase,), _repeat(_linked))
