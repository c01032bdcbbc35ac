"""
The asyncio equivalent of the benchmark's test, for C{python -m unittest}:
C{start_server}, C{open_connection}, a 4-byte echo, then C{close} and
C{wait_closed} on every end and on the server.

C{TRIALNET_BENCH_TESTS} sets how many tests each suite has.
"""

from __future__ import annotations

import asyncio
import os
import unittest

COUNT = int(os.environ.get("TRIALNET_BENCH_TESTS", "200"))


async def _echoOnce(
    accepted: asyncio.Future[asyncio.StreamWriter],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    accepted.set_result(writer)
    writer.write(await reader.readexactly(4))
    await writer.drain()


async def _test(self: unittest.IsolatedAsyncioTestCase) -> None:
    accepted: asyncio.Future[asyncio.StreamWriter] = (
        asyncio.get_running_loop().create_future()
    )
    server = await asyncio.start_server(
        lambda r, w: _echoOnce(accepted, r, w), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    serverWriter = await accepted
    writer.write(b"ping")
    self.assertEqual(await reader.readexactly(4), b"ping")
    writer.close()
    await writer.wait_closed()
    serverWriter.close()
    await serverWriter.wait_closed()
    server.close()
    await server.wait_closed()


async def _empty(self: unittest.IsolatedAsyncioTestCase) -> None:
    pass


def _suite(name: str, method: object) -> type[unittest.IsolatedAsyncioTestCase]:
    methods = {f"test_{i:05d}": method for i in range(COUNT)}
    return type(name, (unittest.IsolatedAsyncioTestCase,), methods)


AsyncioTests = _suite("AsyncioTests", _test)
EmptyAsyncioTests = _suite("EmptyAsyncioTests", _empty)
